// Weights of a Model in the CPU backend's low-precision formats, made once
// per Model and compute type and shared by every CpuSession over it.
//
// bf16: the encoder's matrices (convolutions as their im2col matrices, the
// attention and MLP projections) and every decoder layer's cross-attention
// key/value projections, packed for gemm_bf16 (gemm_lowp.h).
// int8: the same matrices packed for gemm_int8, plus bf16 copies of the
// convolutions (their inputs, log-mel values and GELU outputs, quantize
// poorly per row).
//
// Thread-safety: prepared_weights() may be called from any thread; the
// result is immutable.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "asr/whisper/backend.h"
#include "asr/whisper/cpu/gemm_lowp.h"
#include "asr/whisper/model/model.h"

namespace sf::asr::whisper::cpu {

// One matrix of a linear layer in whichever format the compute type uses
// (exactly one of the two is non-empty).
struct LowpMatrix {
  PackedBf16 bf16;
  PackedInt8 int8;
  bool is_int8() const { return int8.n > 0; }
};

struct PreparedWeights {
  ComputeType type = ComputeType::kBF16;
  LowpMatrix conv1, conv2;  // always bf16
  struct Layer {
    LowpMatrix q, k, v, o, fc1, fc2;
  };
  std::vector<Layer> enc;
  std::vector<std::array<LowpMatrix, 2>> cross_kv;  // per decoder layer: K, V projections
  size_t bytes = 0;
};

// The weights of `model` for compute type bf16 or int8 (REQUIRES one of
// them, and AVX-512 BF16 / VNNI resp.). Cached: while any caller holds the
// result, a second call for the same model and type returns the same
// object.
std::shared_ptr<const PreparedWeights> prepared_weights(const std::shared_ptr<const Model>& model, ComputeType type);

}  // namespace sf::asr::whisper::cpu
