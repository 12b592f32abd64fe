// Text normalization for word search.
//
// Transcript words and search queries are compared in one normalized form, so
// "Don’t", "DON'T" and "don't," all match the query "don't", and "Café" matches
// "cafe". The rules, applied to each character (UTF-8 aware, no ICU):
//
//  * Case: ASCII, Latin-1 Supplement, Latin Extended-A, Greek and Cyrillic
//    capitals are lowercased. Other scripts pass through unchanged.
//  * Accents: letters of Latin-1 Supplement and Latin Extended-A (plus the
//    Romanian ș ț) fold to their ASCII base: é->e, ü->u, ñ->n, ł->l, ø->o.
//    Ligatures and special letters expand: ß->ss, æ->ae, œ->oe, ĳ->ij, þ->th,
//    ð->d. Combining diacritical marks (U+0300..U+036F, from decomposed text)
//    are dropped, so "e" + U+0301 is "e" too. ª º fold to a o; ¹ ² ³ to 1 2 3.
//  * Apostrophes: ’ ‘ ʼ ‛ and ´ fold to the ASCII apostrophe '.
//  * U+2010 and U+2011 (typographic hyphens) fold to '-'. Soft hyphens,
//    zero-width spaces/joiners and the byte-order mark are removed.
//  * Invalid UTF-8: a byte that does not start a valid sequence is read as a
//    Latin-1 character (text saved as Latin-1 / Windows-1252 still folds:
//    "caf\xE9" -> "cafe"). Output is always valid UTF-8.
//
// Characters are then classed as word characters (letters and digits of any
// script, and any code point not known to be punctuation or space), the
// apostrophe, the hyphen, other punctuation/symbols, and white space.
//
// Word boundaries (the decision, used the same way on both sides):
//  * An apostrophe between two word characters belongs to the word:
//    "don't" stays "don't", "rock'n'roll" stays one word. Leading and trailing
//    apostrophes are quotes and are removed: "'tis" -> "tis", "dogs'" -> "dogs".
//  * A hyphen separates words in tokenize(): "well-known" -> "well", "known".
//    The matcher tokenizes transcript words the same way, so the query
//    "well-known" matches the spoken "well-known" and "well known" alike.
//    normalize_word() keeps internal hyphens (it does not split).
//  * A '.' or ',' between two digits belongs to the number: "3.5", "1,000".
//    Any other punctuation separates words ("U.S." -> "u", "s").
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sf::search {

// Normalizes one word: folds case, accents and apostrophes as above and
// strips leading and trailing characters that are not word characters
// (punctuation, quotes, apostrophes, hyphens, spaces). Internal characters
// are kept after folding: "Well-Known," -> "well-known", "¿Qué?" -> "que",
// "U.S." -> "u.s". Returns "" when nothing word-like is left ("", "--", "?!").
std::string normalize_word(std::string_view word);

// Splits text (a query, a phrase, a transcript word) into normalized tokens,
// in order, at white space, hyphens and punctuation, following the word
// boundary rules above. "Hello, World!" -> {"hello", "world"};
// "Don’t stop-motion 3.5" -> {"don't", "stop", "motion", "3.5"}.
// Never returns empty tokens; returns {} for text without word characters.
std::vector<std::string> tokenize(std::string_view text);

}  // namespace sf::search
