// The Whisper engine's compute backends: which device runs the model, and
// in which number format.
//
// A backend is a device kind (the CPU, or a CUDA GPU) plus a compute type.
// The model code (model/session.h) is the same for every backend; a Session
// is made by Session::create(), which picks the backend from
// SessionOptions::device and ::compute_type:
//
//   SF_ASSIGN_OR_RETURN(Device dev, parse_device("cuda:1"));
//   SF_ASSIGN_OR_RETURN(ComputeType ct, parse_compute_type("int8"));
//   Session::create(model, {.threads = 2, .device = dev, .compute_type = ct});
//
// Compute types are named as CTranslate2 names them (and the seed design's
// WHISPER_COMPUTE_TYPE uses):
//   f32           every weight and activation in f32
//   f16           weights rounded to IEEE half; CPU: products in f32
//   bf16          weights and GEMM inputs in bfloat16, f32 accumulation
//                 (CPU: AVX-512 BF16 dot products)
//   int8          weights in int8, one scale per output row; the encoder's
//                 GEMMs quantize their inputs to 8 bits per row too (CPU:
//                 AVX-512 VNNI; the CPU decoder runs as f16)
//   int8_float16  int8 weights with f16 activations (CUDA); on the CPU the
//                 same as int8
//   auto          the fastest type the device does well (resolve_compute_type)
//
// Thread-safety: every function here is thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::asr::whisper {

enum class ComputeType { kAuto, kF32, kF16, kBF16, kInt8, kInt8Float16 };

// "auto", "f32" (or "float32"), "f16" ("float16"), "bf16" ("bfloat16"),
// "int8" ("int8_float32"), "int8_float16". Errors: kInvalidArgument naming the value and the
// accepted names.
Result<ComputeType> parse_compute_type(std::string_view name);
// The canonical name ("f32", "int8_float16", ...).
std::string_view compute_type_name(ComputeType type);

struct Device {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;
  int index = 0;  // CUDA device ordinal
  bool operator==(const Device&) const = default;
};

// "auto", "cpu", "cuda" (= cuda:0), "cuda:N"; "gpu" / "gpu:N" (the worker
// pool's names) mean the same. Errors: kInvalidArgument.
Result<Device> parse_device(std::string_view name);
// "cpu", "cuda:0", "auto".
std::string device_name(const Device& device);

// What this CPU can do, read once from CPUID.
struct CpuFeatures {
  bool avx2 = false;        // AVX2 + FMA + F16C: the vectorized kernels
  bool avx512 = false;      // AVX-512 F/BW/DQ/VL
  bool avx512_bf16 = false; // VDPBF16PS
  bool avx512_vnni = false; // VPDPBUSD
};
const CpuFeatures& cpu_features();

// The compute type a CPU session really runs for `requested`: auto becomes
// bf16 where the CPU has AVX-512 BF16, else f16 for models stored in f16
// (decoding reads half the bytes), else f32. A type this CPU cannot run
// fast falls back to the nearest one it can (bf16 -> f16 without AVX-512
// BF16; int8 -> f16 without AVX-512 VNNI), and *why is set to a sentence
// saying so (empty when the request is honoured as given).
ComputeType resolve_cpu_compute_type(ComputeType requested, bool stored_f16, std::string* why);

// Whether a CUDA backend can run here, and if not, why (a sentence naming
// what is missing: no plugin built, no driver, no device).
struct CudaAvailability {
  bool usable = false;
  int devices = 0;
  std::string why;
};
const CudaAvailability& cuda_availability();

// The device `requested` resolves to: auto is CUDA device 0 where
// cuda_availability().usable, else the CPU. Errors: kUnavailable when CUDA
// is asked for by name and cannot run (the message says why), or the
// device index is past the devices found.
Result<Device> resolve_device(const Device& requested);

}  // namespace sf::asr::whisper
