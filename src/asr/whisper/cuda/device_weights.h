// A Model's weights on one CUDA device in one storage type, uploaded once
// and shared by every CudaSession on that (model, device, type).
//
// Layout (all in one device allocation): the GEMM matrices in the storage
// type (DType), row-major [out, in] as in model.h; q/k/v of each self-
// attention concatenated to one [3d, d] matrix (bias [3d], zero for k) and
// each cross-attention's k/v to one [2d, d] matrix, so each is one GEMM;
// conv weights read as [d, in * 3]. Biases, layer-norm parameters,
// positional embeddings and an f32 token-embedding table (for the lookup)
// stay f32; the token embedding is also kept in the storage type as the
// output projection.
//
// Thread-safety: immutable once made; device_weights() is thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "asr/whisper/cuda/kernels.h"
#include "asr/whisper/model/model.h"
#include "core/status.h"

namespace sf::asr::whisper::cuda {

struct DeviceLayer {
  const float* attn_ln_w = nullptr;
  const float* attn_ln_b = nullptr;
  const void* qkv_w = nullptr;  // [3d, d]
  const float* qkv_b = nullptr; // [3d]
  const void* o_w = nullptr;
  const float* o_b = nullptr;
  const float* mlp_ln_w = nullptr;
  const float* mlp_ln_b = nullptr;
  const void* fc1_w = nullptr;  // [4d, d]
  const float* fc1_b = nullptr;
  const void* fc2_w = nullptr;  // [d, 4d]
  const float* fc2_b = nullptr;
  // Decoder layers only.
  const float* cross_ln_w = nullptr;
  const float* cross_ln_b = nullptr;
  const void* cross_q_w = nullptr;
  const float* cross_q_b = nullptr;
  const void* cross_kv_w = nullptr;  // [2d, d]: k then v
  const float* cross_v_b = nullptr;
  const void* cross_o_w = nullptr;
  const float* cross_o_b = nullptr;
};

struct DeviceWeights {
  DeviceWeights() = default;
  ~DeviceWeights();  // frees the allocation on its device
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  int device = 0;
  DType type = DType::kF32;
  size_t bytes = 0;
  void* base = nullptr;

  const void* conv1_w = nullptr;  // [d, n_mels * 3]
  const float* conv1_b = nullptr;
  const void* conv2_w = nullptr;  // [d, d * 3]
  const float* conv2_b = nullptr;
  const float* enc_pos = nullptr;
  std::vector<DeviceLayer> enc;
  const float* enc_ln_w = nullptr;
  const float* enc_ln_b = nullptr;
  const float* tok_emb_f32 = nullptr;  // [n_vocab, d], for the lookup
  const void* tok_emb = nullptr;       // [n_vocab, d] in `type`, for the logits
  const float* dec_pos = nullptr;
  std::vector<DeviceLayer> dec;
  const float* dec_ln_w = nullptr;
  const float* dec_ln_b = nullptr;
};

// The weights of `model` on CUDA device `device` in `type`: uploaded on
// first use, then shared while any holder keeps them (a weak cache keyed by
// model, device and type). Errors: kUnavailable "out of GPU memory ..."
// when they do not fit; kInternal naming the CUDA call otherwise.
Result<std::shared_ptr<const DeviceWeights>> device_weights(const Model& model, int device, DType type);

}  // namespace sf::asr::whisper::cuda
