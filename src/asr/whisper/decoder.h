// Whisper's decoding loop: start-of-transcript sequence, language detection,
// logit filters (suppress tokens, begin-suppress, timestamp rules), greedy,
// sampling and beam search over a batch of 30-s windows.
//
// The loop talks to the model through DecoderBackend, a small interface over
// "run the decoder on these sequences and give me the last logits", so it
// can be driven by the real Session (see whisper_engine.cc) or by crafted
// logits in tests. Not thread-safe: one backend per thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "asr/whisper/tokenizer.h"
#include "core/status.h"

namespace sf::asr::whisper {

inline constexpr int kFramesPerSecond = 100;     // mel frames
inline constexpr int kSamplesPerFrame = 160;
inline constexpr int kWindowFramesMel = 3000;    // 30 s
inline constexpr double kTimestampStep = 0.02;   // seconds per timestamp token

// One decoder sequence's step: append `tokens` to KV slot `slot` after its
// first `n_past` positions, attending to window `window` of the last encode.
struct DecodeStep {
  int window = 0;
  int slot = 0;
  std::span<const int32_t> tokens;
  int n_past = 0;
};

// A span of the input audio to encode as one 30-s window.
struct AudioWindow {
  int64_t start_sample = 0;
  int64_t n_samples = 0;  // <= 30 s
  // True: the window's audio alone, zero-padded (VAD chunks). False: the
  // window of the whole recording's spectrogram starting at start_sample.
  bool isolated = false;
};

class DecoderBackend {
 public:
  virtual ~DecoderBackend() = default;

  virtual int n_vocab() const = 0;
  virtual int n_text_ctx() const = 0;    // 448 in real models
  virtual int n_audio_ctx() const = 0;   // encoder frames per window: 1500
  virtual int kv_slots() const = 0;      // independent sequences available
  virtual int max_windows() const = 0;   // windows one encode() may take

  // Encodes `windows` of the audio set up by the owner; they become windows
  // 0..n-1 of later decode() calls.
  virtual Status encode(std::span<const AudioWindow> windows) = 0;
  // Appends each step's tokens and writes the logits of each step's last
  // token to *logits (n_vocab floats per step, in order).
  virtual Status decode(std::span<const DecodeStep> steps, std::vector<float>* logits) = 0;
  // Copies the first n cached positions of slot src into slot dst.
  virtual void copy_kv(int src_slot, int dst_slot, int n) = 0;
  // Runs `tokens` from position 0 in `slot` over window `window` and
  // returns the cross-attention probabilities of the alignment heads,
  // heads x tokens x n_audio_ctx, in *weights (*n_heads set).
  virtual Status cross_attention(int window, int slot, std::span<const int32_t> tokens,
                                 std::vector<float>* weights, int* n_heads) = 0;
};

struct DecodeOptions {
  std::string language;  // empty: detect (multilingual) or "en"
  std::string task = "transcribe";  // "transcribe" | "translate"
  bool timestamps = true;
  int beam_size = 1;       // 1: greedy
  float patience = 1.0f;
  std::vector<float> temperatures = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  float compression_ratio_threshold = 2.4f;
  float logprob_threshold = -1.0f;
  float no_speech_threshold = 0.6f;
  bool condition_on_previous_text = true;
  std::string initial_prompt;
  // Words to listen for (faster-whisper's `hotwords`): put before the
  // previous text in every window's prompt, after <|startofprev|>, so the
  // decoder expects them. At most a quarter of the text context; empty:
  // none. Needs a tokenizer that can encode (create() fails otherwise).
  std::string hotwords;
  int max_initial_timestamp_index = 50;  // 1.0 s
  int sample_len = 0;                    // 0: n_text_ctx / 2
  // Never sampled. Empty and suppress_non_speech: Whisper's set of symbols
  // computed from the vocabulary. Task/sot/prev/lm/no-speech tokens are
  // always added.
  std::vector<int> suppress_tokens;
  bool suppress_non_speech = true;
  // Suppressed at the first sampled position; empty: " " and eot.
  std::vector<int> begin_suppress_tokens;
  bool word_timestamps = true;
  uint64_t seed = 0x5eed;
};

// What decoding one window produced.
struct WindowResult {
  std::vector<int> tokens;        // sampled tokens, eot excluded
  std::vector<float> token_probs; // probability of each sampled token
  double sum_logprob = 0;
  double avg_logprob = 0;         // sum_logprob / (tokens + 1)
  double no_speech_prob = 0;
  double compression_ratio = 0;
  double temperature = 0;
  std::string text;
};

// Per-window decoding input.
struct WindowRequest {
  int window = 0;                 // encoder window index
  std::vector<int> prompt;        // previous text (without <|startofprev|>)
  int language_token = -1;        // required for multilingual models
};

// Whisper's compression ratio of `text`: bytes / zlib-compressed bytes.
double compression_ratio(std::string_view text);

// The decoding state that lasts across windows: options resolved against a
// tokenizer (suppress lists, sot sequence pieces).
class Decoder {
 public:
  // Errors: kInvalidArgument for an unknown task/language or a backend whose
  // vocabulary is smaller than the tokenizer's specials.
  static Result<Decoder> create(const Tokenizer& tokenizer, DecodeOptions options,
                                int n_vocab, int n_text_ctx);

  const DecodeOptions& options() const { return options_; }
  const Tokenizer& tokenizer() const { return *tok_; }

  // <|startoftranscript|> [language task] for `language_token`.
  std::vector<int> sot_sequence(int language_token) const;
  // Language token forced by the options, or -1 when it must be detected.
  int forced_language() const { return forced_language_; }

  // Detects the language of window `window` from the logits after
  // <|startoftranscript|>. Uses slot `slot`. Returns the language token.
  Result<int> detect_language(DecoderBackend& backend, int window, int slot,
                              std::vector<float>* probs = nullptr) const;

  // Decodes the given windows together at one temperature (greedy, or beam
  // search at temperature 0 when beam_size > 1). Uses slots
  // 0 .. requests.size() * slots_per_window() - 1.
  Result<std::vector<WindowResult>> decode(DecoderBackend& backend,
                                           std::span<const WindowRequest> requests,
                                           float temperature, uint64_t seed) const;

  // Decodes with temperature fallback: windows whose result is too
  // repetitive (compression ratio) or unlikely (avg logprob) are decoded
  // again at the next temperature, unless they look like silence.
  Result<std::vector<WindowResult>> decode_with_fallback(DecoderBackend& backend,
                                                         std::span<const WindowRequest> requests) const;

  int slots_per_window() const { return options_.beam_size > 1 ? 2 * options_.beam_size : 1; }

  // Whether a result should be skipped as silence.
  bool is_silence(const WindowResult& r) const;

  // Applies the suppress lists and Whisper's timestamp rules to `logits`
  // (n_vocab floats) for a sequence whose sampled tokens so far are
  // `sampled`. Exposed for tests.
  void apply_filters(std::span<const int> sampled, std::span<float> logits) const;

  // The tokens a window's decoding starts from: [<|startofprev|> hotwords
  // previous text] <|startoftranscript|> [language task]
  // [<|notimestamps|>]. Exposed for tests.
  std::vector<int> initial_tokens(const WindowRequest& r) const;

 private:
  Decoder() = default;

  const Tokenizer* tok_ = nullptr;
  DecodeOptions options_;
  int n_vocab_ = 0;
  int n_text_ctx_ = 0;
  int task_token_ = -1;
  int forced_language_ = -1;
  std::vector<int> suppress_;
  std::vector<int> begin_suppress_;
  std::vector<int> hotword_tokens_;
};

}  // namespace sf::asr::whisper
