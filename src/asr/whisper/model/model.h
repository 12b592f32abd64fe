// A Whisper model's weights and configuration, loaded once per process.
//
// Model::load() reads either
//   * a Hugging Face checkpoint folder: config.json + model.safetensors
//     (F32, F16 or BF16 tensors), optionally generation_config.json and the
//     tokenizer files (tokenizer.json, or vocab.json + merges.txt +
//     added_tokens.json; this class does not read them, see source_dir()),
//     or the model.safetensors file of such a folder, or
//   * a whisper.cpp file (ggml-*.bin, magic 0x67676d6c) with F32 or F16
//     tensors. Other tensor types (quantized) get kUnsupported.
//
// Weights are memory-mapped; F32 tensors whose data is 4-byte aligned are
// used in place, everything else (F16, BF16, unaligned F32) is converted to
// F32 once at load. Every tensor's shape is checked against the hyper-
// parameters and every offset against the file size: a truncated or
// inconsistent file gets kCorrupt with a message naming the file and the
// tensor, never a crash.
//
// Thread-safety: a loaded Model is immutable. Share it between threads as
// std::shared_ptr<const Model>; each thread makes its own Session
// (session.h) over it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sf::asr::whisper {

// The architecture's sizes. Real models: n_audio_ctx 1500, n_text_ctx 448,
// n_mels 80 (128 for large-v3 / large-v3-turbo), n_vocab 51864 (English-only),
// 51865 (multilingual) or 51866 (large-v3, 100 languages).
struct HParams {
  int n_vocab = 0;
  int n_mels = 0;
  int n_audio_ctx = 0;    // encoder positions (after the stride-2 conv)
  int n_audio_state = 0;  // encoder width (d_model)
  int n_audio_head = 0;
  int n_audio_layer = 0;
  int n_text_ctx = 0;     // decoder positions
  int n_text_state = 0;   // decoder width (== n_audio_state in all real models)
  int n_text_head = 0;
  int n_text_layer = 0;
};

// One cross-attention head of the decoder: used for word alignment.
struct AlignmentHead {
  int layer = 0;
  int head = 0;
  bool operator==(const AlignmentHead&) const = default;
};

// Special tokens and decoding defaults.
//
// Hugging Face folders: read from generation_config.json (and config.json),
// with anything missing derived from the vocabulary size as below.
// ggml files: derived from n_vocab the way Whisper's own tokenizer lays
// out its special tokens: English-only vocabularies (n_vocab < 51865) have
// eot 50256, sot 50257, translate 50357, ..., timestamp_begin 50363;
// multilingual ones shift eot/sot by one and the task/other tokens by
// (number of languages - 98).
struct GenerationConfig {
  bool is_multilingual = false;
  int num_languages = 0;  // language tokens following sot (99 or 100)

  int eot = -1;             // <|endoftext|>
  int sot = -1;             // <|startoftranscript|>
  int translate = -1;       // <|translate|>
  int transcribe = -1;      // <|transcribe|>
  int sot_lm = -1;          // <|startoflm|>
  int sot_prev = -1;        // <|startofprev|>
  int no_speech = -1;       // <|nocaptions|> (a.k.a. <|nospeech|>)
  int no_timestamps = -1;   // <|notimestamps|>
  int timestamp_begin = -1; // <|0.00|>; timestamp i is timestamp_begin + i

  // Language code -> token id, in token order ("en" first). Empty for
  // English-only models.
  std::vector<std::pair<std::string, int>> lang_to_id;

  // Tokens never sampled: the "suppress_tokens" list of
  // generation_config.json (or config.json). Where no file gives one (ggml
  // files, folders without it) this is empty and suppress_tokens_from_vocab
  // is true: the decoder should compute Whisper's non-speech token set from
  // the vocabulary (as the reference implementation does for "-1").
  std::vector<int> suppress_tokens;
  bool suppress_tokens_from_vocab = false;
  // Tokens suppressed at the first sampled position (default: " " and eot).
  std::vector<int> begin_suppress_tokens;

  // Heads for word timestamps as given by generation_config.json; empty
  // when the model does not say (then use Model::alignment_heads()'s
  // default).
  std::vector<AlignmentHead> alignment_heads;

  // Largest timestamp index allowed as the first timestamp (50 = 1.0 s).
  int max_initial_timestamp_index = 50;

  // Token id of a language code ("en"), or -1 when unknown.
  int language_token(std::string_view code) const;
};

// Whisper's language codes in token order (100 entries; the first 99 are
// the multilingual models' languages, "yue" is large-v3's 100th).
std::span<const char* const> whisper_language_codes();

enum class ModelFormat { kHuggingFace, kGgml };
enum class WeightType { kF32, kF16, kBF16 };

// Raw weight pointers, all F32, row-major, in PyTorch's layout
// (Linear weight: [out, in]; Conv1d weight: [out, in, kernel]). Valid for
// the lifetime of the Model. Used by the compute backends.
struct EncoderLayerWeights {
  const float* attn_ln_w = nullptr;  // [d]
  const float* attn_ln_b = nullptr;
  const float* q_w = nullptr;  // [d, d]
  const float* q_b = nullptr;  // [d]
  const float* k_w = nullptr;  // [d, d] (no bias)
  const float* v_w = nullptr;
  const float* v_b = nullptr;
  const float* o_w = nullptr;
  const float* o_b = nullptr;
  const float* mlp_ln_w = nullptr;
  const float* mlp_ln_b = nullptr;
  const float* fc1_w = nullptr;  // [4d, d]
  const float* fc1_b = nullptr;  // [4d]
  const float* fc2_w = nullptr;  // [d, 4d]
  const float* fc2_b = nullptr;  // [d]
  // The same matrices as IEEE half floats where the file stores them as
  // F16 (nullptr otherwise). The decoder multiplies few rows at a time and
  // is bound by memory bandwidth: reading half the bytes is faster, and
  // gives the same products (the f32 copies are exact conversions).
  const uint16_t* q_h = nullptr;
  const uint16_t* k_h = nullptr;
  const uint16_t* v_h = nullptr;
  const uint16_t* o_h = nullptr;
  const uint16_t* fc1_h = nullptr;
  const uint16_t* fc2_h = nullptr;
};

struct DecoderLayerWeights {
  EncoderLayerWeights self;  // self-attention + MLP, as in the encoder
  const float* cross_ln_w = nullptr;
  const float* cross_ln_b = nullptr;
  const float* cross_q_w = nullptr;
  const float* cross_q_b = nullptr;
  const float* cross_k_w = nullptr;  // no bias
  const float* cross_v_w = nullptr;
  const float* cross_v_b = nullptr;
  const float* cross_o_w = nullptr;
  const float* cross_o_b = nullptr;
  const uint16_t* cross_q_h = nullptr;  // F16 copies, as in EncoderLayerWeights
  const uint16_t* cross_o_h = nullptr;
};

struct Weights {
  const float* conv1_w = nullptr;  // [d, n_mels, 3]
  const float* conv1_b = nullptr;  // [d]
  const float* conv2_w = nullptr;  // [d, d, 3]
  const float* conv2_b = nullptr;  // [d]
  const float* enc_pos = nullptr;  // [n_audio_ctx, d]
  std::vector<EncoderLayerWeights> enc;
  const float* enc_ln_w = nullptr;
  const float* enc_ln_b = nullptr;
  const float* tok_emb = nullptr;  // [n_vocab, d]; also the output projection
  const uint16_t* tok_emb_h = nullptr;  // F16 copy where stored so
  const float* dec_pos = nullptr;  // [n_text_ctx, d]
  std::vector<DecoderLayerWeights> dec;
  const float* dec_ln_w = nullptr;
  const float* dec_ln_b = nullptr;
};

class Model {
 public:
  // Loads a model from `path`: a folder (Hugging Face layout) or a ggml
  // file. Errors (all name the path, and the tensor where there is one):
  //   kNotFound    the path, config.json or model.safetensors is missing
  //   kCorrupt     bad magic, truncated file, header past the end, a tensor
  //                missing or with the wrong shape, inconsistent hparams
  //   kUnsupported a tensor type we do not handle ("not supported yet")
  static Result<std::shared_ptr<const Model>> load(const std::string& path);

  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const HParams& hparams() const { return hparams_; }
  const GenerationConfig& generation() const { return generation_; }
  const Weights& weights() const { return weights_; }

  ModelFormat format() const { return format_; }
  // The type of the stored tensors (the majority type for mixed files).
  WeightType stored_type() const { return stored_type_; }
  // The path given to load().
  const std::string& path() const { return path_; }
  // The folder holding the model: for HF, the folder itself (tokenizer
  // files live there); for ggml, the folder containing the file.
  const std::string& source_dir() const { return source_dir_; }
  // A short name for reports: the folder or file name, e.g. "whisper-base".
  const std::string& name() const { return name_; }

  // ggml files only: the vocabulary embedded in the file, one byte string
  // per token id (index = id), as stored (GPT-2 byte-level text decoded to
  // raw bytes by the converter). Empty for HF folders. May be shorter than
  // n_vocab: ids past the end are the special tokens.
  const std::vector<std::string>& ggml_vocab() const { return ggml_vocab_; }

  // The alignment heads for word timestamps: generation().alignment_heads
  // if given, otherwise every head of the upper half of the decoder layers
  // (layers n_text_layer/2 .. n_text_layer-1).
  std::vector<AlignmentHead> alignment_heads() const;

  // Bytes of F32 weights held by this model (mapped or converted).
  size_t weight_bytes() const { return weight_bytes_; }

 private:
  Model() = default;
  friend class ModelLoader;

  HParams hparams_;
  GenerationConfig generation_;
  Weights weights_;
  ModelFormat format_ = ModelFormat::kHuggingFace;
  WeightType stored_type_ = WeightType::kF32;
  std::string path_;
  std::string source_dir_;
  std::string name_;
  std::vector<std::string> ggml_vocab_;
  size_t weight_bytes_ = 0;

  // Owned storage behind the pointers in weights_.
  struct MappedFile;
  std::unique_ptr<MappedFile> mapped_;
  std::vector<std::vector<float>> converted_;
  std::vector<std::vector<uint16_t>> converted_half_;  // F16 data realigned
};

}  // namespace sf::asr::whisper
