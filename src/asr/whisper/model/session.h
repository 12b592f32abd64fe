// Per-thread inference state over a shared Whisper Model: the interface
// every compute backend implements (backend.h; the CPU one is
// cpu/cpu_session.h, the CUDA one a plugin, cuda/plugin_abi.h).
//
// A Session owns everything that changes while running the model: the
// encoder outputs of the last encode() call, each decoder layer's cross-
// attention keys/values for those outputs (computed once per encode), the
// self-attention KV caches ("slots") and scratch buffers. The Model itself
// is shared read-only.
//
// Typical use (greedy, one window):
//   SF_ASSIGN_OR_RETURN(auto s, Session::create(model, {.threads = 2}));
//   SF_RETURN_IF_ERROR(s->encode(mel, 1));              // n_mels x 3000
//   DecodeItem it{.batch_index = 0, .slot = 0, .tokens = prompt, .n_past = 0};
//   SF_RETURN_IF_ERROR(s->decode({&it, 1}, &logits));    // n_vocab floats
//   ... append the chosen token: {.tokens = {tok}, .n_past = prompt.size()}
//
// Precision: SessionOptions::compute_type (backend.h). With f32 everything
// is computed in f32. Models stored in F16 also keep
// the cross-attention keys/values in half precision (as whisper.cpp does):
// decoding is bound by memory bandwidth, and this halves the bytes read per
// token, at a logit error of about the f16 rounding (measured 6e-6 relative
// on random tiny/base weights). F32 and BF16 models keep f32 keys/values.
//
// Thread-safety: NOT thread-safe; one Session per thread. Many Sessions may
// share one Model. Compute threads: GEMMs run on OpenBLAS with its thread
// count set to options.threads before each call (openblas_set_num_threads is
// process-wide; Sessions in one process should use the same count). Our own
// loops never run while OpenBLAS threads do, so there is no
// oversubscription.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "asr/whisper/backend.h"
#include "asr/whisper/model/model.h"
#include "core/status.h"

namespace sf::asr::whisper {

struct SessionOptions {
  int threads = 1;    // compute threads (>= 1)
  int max_batch = 1;  // most windows one encode() call may take (>= 1)
  // Number of KV-cache slots (independent decoder sequences). 0 means
  // max_batch. Beam search needs batch * beam_size slots.
  int kv_slots = 0;
  // Which backend: auto = CUDA where usable, else the CPU (backend.h).
  Device device{};
  // auto = the fastest type the device does well (backend.h).
  ComputeType compute_type = ComputeType::kAuto;
};

// One decoder sequence's step in a decode() call.
struct DecodeItem {
  int batch_index = 0;  // which window of the last encode() to attend to
  int slot = 0;         // which KV-cache slot holds this sequence
  // Tokens to append at positions n_past, n_past+1, ...; at least one.
  std::span<const int32_t> tokens;
  // Positions already in the slot's cache that this sequence keeps; the
  // cache beyond n_past is overwritten. n_past + tokens.size() must not
  // exceed n_text_ctx.
  int n_past = 0;
};

class Session {
 public:
  // Makes a session on the backend options.device / compute_type resolve
  // to (resolve_device, resolve_cpu_compute_type). Weights in the backend's
  // format are prepared once per model and device and shared by every
  // session on them. Errors: kInvalidArgument for a null model or options
  // out of range; kUnavailable when the device asked for cannot run (the
  // message says why) or runs out of memory.
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options);
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Model& model() const { return *model_; }
  // The options as resolved: device and compute_type are the ones running
  // (never auto), kv_slots is never 0.
  const SessionOptions& options() const { return options_; }
  int kv_slots() const { return options_.kv_slots; }
  // When compute_type was changed from the one asked for: why (e.g. the CPU
  // lacks AVX-512 BF16). Empty otherwise.
  const std::string& fallback_reason() const { return fallback_reason_; }

  // Runs the encoder on `batch` windows. `mel` holds batch x n_mels x
  // (2 * n_audio_ctx) floats, row-major: for every real model 2 * 1500 =
  // 3000 frames, each window as log_mel_spectrogram() returns it.
  // Also computes every decoder layer's cross-attention K/V for each window.
  // Invalidates previous encoder outputs (the KV slots are kept but refer to
  // the new windows). Errors: kInvalidArgument for a size mismatch or batch
  // outside 1..max_batch.
  virtual Status encode(std::span<const float> mel, int batch) = 0;

  // Number of windows of the last encode() (0 before the first).
  virtual int encoded_batch() const = 0;

  // The encoder output of window b of the last encode():
  // n_audio_ctx x n_audio_state floats, row-major. Valid until the next
  // encode(). REQUIRES: 0 <= b < encoded_batch().
  virtual const float* encoder_output(int b) const = 0;

  // Runs the decoder on all items together (their tokens are batched into
  // shared GEMMs). For each item, appends its tokens to its slot's cache
  // (after n_past) and writes logits to *logits:
  //   all_logits == false: n_vocab floats per item (for its LAST token),
  //                        items in order: size items.size() * n_vocab;
  //   all_logits == true:  n_vocab floats for EVERY token of every item,
  //                        items in order, tokens in order.
  // Two items must not use the same slot. Errors: kInvalidArgument for a bad
  // batch index / slot / token id, empty tokens, or n_past + tokens past
  // n_text_ctx; kInvalidArgument if called before encode().
  virtual Status decode(std::span<const DecodeItem> items, std::vector<float>* logits,
                        bool all_logits = false) = 0;

  // Copies the first n cached positions of slot src into slot dst (beam
  // search: a child sequence continues its parent's cache).
  virtual void copy_kv(int src_slot, int dst_slot, int n) = 0;
  // Forgets a slot's cache (a new sequence will start at n_past 0). Not
  // required before reuse: n_past = 0 already ignores old content.
  virtual void reset_kv(int slot) = 0;

  // Selects the cross-attention heads to record during decode(); an empty
  // list (the default) records nothing. Typically model().alignment_heads().
  // Errors: kInvalidArgument for a head out of range.
  virtual Status set_collect_cross_attention(std::vector<AlignmentHead> heads) = 0;

  // After a decode() with collection enabled: the cross-attention
  // probabilities (after softmax) of item `item` of that call, laid out as
  // heads x tokens x n_audio_ctx (heads in the order given to
  // set_collect_cross_attention, tokens = that item's tokens). Empty span
  // when collection is off. Valid until the next decode().
  virtual std::span<const float> cross_attention(int item) const = 0;

 protected:
  Session(std::shared_ptr<const Model> model, const SessionOptions& options, std::string fallback_reason)
      : model_(std::move(model)), options_(options), fallback_reason_(std::move(fallback_reason)) {}

  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  std::string fallback_reason_;
};

// Checks the backend-independent options (threads, max_batch, kv_slots)
// and fills kv_slots. Errors: kInvalidArgument naming the option.
Result<SessionOptions> validate_session_options(const Model* model, const SessionOptions& options);

}  // namespace sf::asr::whisper
