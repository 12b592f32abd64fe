// The CPU backend's Session (model/session.h): OpenBLAS GEMMs and our own
// AVX2 / AVX-512 kernels (kernels.h), on a ThreadPool of options.threads.
//
// Compute types (backend.h) on the CPU:
//   f32   f32 weights throughout (decoding streams the f32 matrices);
//   f16   the decoder streams IEEE-half copies of its matrices and keeps
//         its cross-attention keys/values in half precision; the encoder
//         runs f32 GEMMs on the same (f16-rounded) values;
//   bf16  the encoder's GEMMs and attention products (and the cross-
//         attention key/value projections) run on AVX-512 BF16 dot products
//         over bfloat16 copies of weights and inputs, with f32
//         accumulation; the decoder as f16;
//   int8  the encoder's linear layers (and the cross-attention key/value
//         projections) run VNNI int8 dot products (weights with one scale
//         per output row, inputs quantized per row), its convolutions and
//         attention as bf16; the decoder as f16.
// Weight copies in each format are made once per Model and shared by every
// CpuSession over it (prepared_weights()).
//
// Thread-safety: as Session: one CpuSession per thread.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "asr/whisper/model/session.h"

namespace sf::asr::whisper {

class CpuSession final : public Session {
 public:
  struct State;
  CpuSession(std::shared_ptr<const Model> model, const SessionOptions& options, std::string fallback,
             std::unique_ptr<State> state);
  ~CpuSession() override;

  Status encode(std::span<const float> mel, int batch) override;
  int encoded_batch() const override;
  const float* encoder_output(int b) const override;
  Status decode(std::span<const DecodeItem> items, std::vector<float>* logits, bool all_logits = false) override;
  void copy_kv(int src_slot, int dst_slot, int n) override;
  void reset_kv(int slot) override;
  Status set_collect_cross_attention(std::vector<AlignmentHead> heads) override;
  std::span<const float> cross_attention(int item) const override;

 private:
  std::unique_ptr<State> state_;
};

// A CPU session; options.device is ignored (the result says kCpu) and
// options.compute_type is resolved with resolve_cpu_compute_type().
// Errors: as Session::create.
Result<std::unique_ptr<Session>> create_cpu_session(std::shared_ptr<const Model> model,
                                                    const SessionOptions& options);

}  // namespace sf::asr::whisper
