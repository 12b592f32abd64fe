// The phones of words as the recognizer's dictionary says them: for
// choosing, without audio, where the targeted pass should listen again
// (search/phonetic.h compares a target's phones with the one-best words').
//
// Thread-safety: immutable after load(); of() is const and may be called
// from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace sf::asr::sphinx {

// A phone of the acoustic model's set as a small number (phone_id()).
using PhoneId = uint8_t;

// The id of a model phone ("AH", "HH"); ids 0..38 are the 39 CMU phones in
// alphabetical order, vowels among them (is_vowel()). 255 for anything else.
PhoneId phone_id(std::string_view phone);
bool is_vowel(PhoneId phone);
// Bit p set when phone p is a vowel (search::closest_run's `vowels`).
uint64_t vowel_mask();

class Pronunciations {
 public:
  // Reads the dictionary of the PocketSphinx model in `model` (as
  // EngineOptions::model: a folder holding cmudict-en-us.dict; "" =
  // Debian's pocketsphinx-en-us). Errors: kNotFound naming the missing
  // file, kCorrupt when it cannot be read.
  static Result<std::unique_ptr<Pronunciations>> load(const std::string& model);

  // The first dictionary pronunciation of `word` (a normalized token, as
  // search::tokenize() makes it); for a word the dictionary lacks, the
  // letter-to-sound rules' (letter_to_sound.h), as the engine adds it at run
  // time. Empty when it cannot be pronounced.
  std::vector<PhoneId> of(std::string_view word) const;

  size_t size() const { return words_.size(); }

  explicit Pronunciations(std::unordered_map<std::string, std::vector<PhoneId>> words) : words_(std::move(words)) {}
  Pronunciations(const Pronunciations&) = delete;
  Pronunciations& operator=(const Pronunciations&) = delete;

 private:
  std::unordered_map<std::string, std::vector<PhoneId>> words_;
};

}  // namespace sf::asr::sphinx
