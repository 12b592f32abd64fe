// Pronunciations for words the recognizer's dictionary lacks (names,
// places, new words): flite's US-English lexicon and letter-to-sound rules,
// mapped to the CMU phone set of PocketSphinx's acoustic model.
//
// Thread-safe (flite's lexicon is set up once per process, under a lock).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sf::asr::sphinx {

// The phones of `word` (lowercase letters and apostrophes, as
// search::tokenize() makes them) in the acoustic model's phone set, space
// separated, e.g. "B AH JH AH T"; nullopt when it cannot be pronounced: a
// build without flite1-dev, a word with characters the rules do not read,
// or a phone that has no counterpart in the model.
std::optional<std::string> letter_to_sound(std::string_view word);

// Maps one flite phone ("ax0", "hh", "er1") to the model's ("AH", "HH",
// "ER"); nullopt for a pause or an unknown phone. Exposed for tests.
std::optional<std::string> map_flite_phone(std::string_view phone);

}  // namespace sf::asr::sphinx
