// The CUDA backend's Session (model/session.h) on one device
// (options.device.index): cuBLAS GEMMs (tensor cores for f16 / bf16) and
// the kernels of kernels.h, on a stream and cuBLAS handle of its own.
// Built into the plugin library only (plugin_abi.h); the program reaches it
// through sf_whisper_cuda_create_session.
//
// Compute types (backend.h) on CUDA:
//   f32           f32 weights, activations and caches; GEMMs in full f32
//                 (CUBLAS_COMPUTE_32F: TF32 is never used);
//   f16 / bf16    weights, GEMM inputs, attention outputs and the KV caches
//                 (self and cross) in that type, f32 accumulation; the
//                 residual stream, GEMM outputs, layer norm and softmax in
//                 f32;
//   auto          f16;
//   int8 / int8_float16
//                 not implemented yet: run as f16, fallback_reason() says so.
// Weights are uploaded once per (model, device, type) and shared by every
// session (device_weights.h). Each session owns its stream, cuBLAS handle,
// encoder outputs, cross-attention K/V for max_batch windows, the KV-cache
// slots and scratch buffers, allocated at creation (the encoder runs over
// chunks of windows, so scratch does not grow with max_batch); the decoder's
// scratch grows with the largest decode() call seen.
//
// Errors: every CUDA / cuBLAS failure becomes a Status naming the call
// (cuda_status.h); running out of device memory is kUnavailable "out of GPU
// memory ...". A failure inside copy_kv() (which returns nothing) is kept
// and returned by the next decode(). encoder_output() copies the encoder
// output to the host on first use after encode() and returns nullptr if
// that copy fails.
//
// Thread-safety: as Session: one CudaSession per thread. Every call makes
// the session's device current on the calling thread.
#pragma once

#include <memory>

#include "asr/whisper/model/session.h"

namespace sf::asr::whisper::cuda {

// A session on CUDA device options.device.index (options already checked
// by validate_session_options). Errors: as Session::create; kUnsupported
// for a head size the attention kernels do not take (kernels.h).
Result<std::unique_ptr<Session>> create_cuda_session(std::shared_ptr<const Model> model,
                                                     const SessionOptions& options);

}  // namespace sf::asr::whisper::cuda
