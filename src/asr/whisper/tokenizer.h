// Whisper's tokenizer: GPT-2 style byte-level BPE plus Whisper's special
// tokens (start of transcript, languages, tasks, timestamps).
//
// Loaded from a Hugging Face folder (tokenizer.json, or vocab.json +
// merges.txt + added_tokens.json) with full encode/decode, or from the token
// byte strings embedded in a whisper.cpp ggml file: those carry no merge
// ranks, so such a tokenizer decodes only (encode() returns kUnsupported).
//
// Special token ids follow Whisper's layout: they are looked up by name where
// the files name them, and otherwise derived from the vocabulary size as
// whisper.cpp does (eot = 50256 or 50257, then sot, the languages, translate,
// transcribe, startoflm, startofprev, nospeech, notimestamps, timestamps).
//
// A Tokenizer is immutable after construction and safe to share between
// threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace sf::asr::whisper {

// Special token ids; -1 where the vocabulary has none.
struct SpecialTokens {
  int eot = -1;             // <|endoftext|>
  int sot = -1;             // <|startoftranscript|>
  int first_language = -1;  // <|en|>
  int n_languages = 0;
  int translate = -1;
  int transcribe = -1;
  int start_of_lm = -1;
  int start_of_prev = -1;   // <|startofprev|>
  int no_speech = -1;       // <|nospeech|> (<|nocaptions|> in older files)
  int no_timestamps = -1;
  int timestamp_begin = -1;  // <|0.00|>; timestamps run to <|30.00|>
};

class Tokenizer {
 public:
  // Loads tokenizer.json, or vocab.json + merges.txt (+ added_tokens.json,
  // special_tokens_map.json), from `dir`. `n_vocab` is the model's
  // vocabulary size (0: unknown), used to place special tokens the files do
  // not list. Errors: kNotFound (no tokenizer files), kCorrupt (bad JSON).
  static Result<std::unique_ptr<Tokenizer>> load_hf(const std::filesystem::path& dir,
                                                    int n_vocab = 0);

  // A decode-only tokenizer over raw token bytes (ggml files): `pieces[id]`
  // are the bytes of token `id`; ids past pieces.size() up to n_vocab are
  // Whisper's special tokens.
  static Result<std::unique_ptr<Tokenizer>> from_token_bytes(std::vector<std::string> pieces,
                                                             int n_vocab);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Text → token ids (no special tokens are produced from text).
  // Errors: kUnsupported for a decode-only tokenizer.
  Result<std::vector<int>> encode(std::string_view text) const;

  // Token ids → UTF-8 text. Special and timestamp tokens are skipped unless
  // `with_special`. Invalid UTF-8 sequences (a multi-byte character cut
  // between tokens) become U+FFFD, so the result is always valid UTF-8.
  std::string decode(std::span<const int> ids, bool with_special = false) const;
  // The raw bytes of one token (empty for an unknown id).
  std::string token_bytes(int id) const;

  // Id of the regular token whose bytes are exactly `bytes`, -1 if none.
  int piece_id(std::string_view bytes) const;
  // Id of a special token by its full name ("<|en|>", "<|0.00|>"), -1 if none.
  int special_id(std::string_view name) const;
  // Id of <|code|> for a language code ("en"), -1 if not in this vocabulary.
  int language_id(std::string_view code) const;
  // Language code of a language token, empty if `id` is not one.
  std::string language_code(int id) const;

  const SpecialTokens& special() const { return special_; }
  // Multilingual vocabularies have one more regular token than GPT-2's
  // (eot != 50256); English-only models take no language or task tokens.
  bool multilingual() const { return multilingual_; }
  bool can_encode() const { return !ranks_.empty(); }
  int vocab_size() const { return vocab_size_; }

  bool is_timestamp(int id) const {
    return special_.timestamp_begin >= 0 && id >= special_.timestamp_begin && id <= last_timestamp();
  }
  bool is_special(int id) const { return id >= special_.eot; }
  // Seconds of a timestamp token (0.02 s steps). REQUIRES: is_timestamp(id).
  double timestamp_of(int id) const { return 0.02 * (id - special_.timestamp_begin); }
  int last_timestamp() const { return special_.timestamp_begin + 1500; }

 private:
  Tokenizer() = default;
  void finish_specials(int n_vocab);
  std::vector<int> bpe(std::string_view word_bytes) const;

  std::vector<std::string> pieces_;  // id → raw bytes
  std::unordered_map<std::string, int> bytes_to_id_;
  // Merge rank of a pair, keyed by "left bytes" + '\0' + "right bytes".
  std::unordered_map<std::string, int> ranks_;
  std::unordered_map<std::string, int> special_by_name_;
  std::vector<std::string> special_names_;  // id - eot → name
  SpecialTokens special_;
  int vocab_size_ = 0;
  bool multilingual_ = true;
};

// GPT-2's pre-tokenizer split of `text` into pieces (contractions, letter
// runs, number runs, punctuation runs, whitespace), each with its leading
// space. Exposed for tests.
std::vector<std::string> pretokenize(std::string_view text);

// GPT-2's byte ↔ printable code point mapping used in vocab files.
std::string bytes_to_unicode_text(std::string_view bytes);
// Inverse; returns false when `text` holds a code point outside the mapping.
bool unicode_text_to_bytes(std::string_view text, std::string* bytes);

}  // namespace sf::asr::whisper
