// Text normalization for word search.
//
// Transcript words and search queries are compared in one normalized form, so
// "Don’t", "DON'T" and "don't," all match the query "don't", and "Café" matches
// "cafe". Folding uses the Unicode character database (utf8proc), so it
// covers every script:
//
//  * Case: full Unicode case folding. "STRASSE" and "Straße" are both
//    "strasse", "ΑΘΗΝΑ" is "αθηνα" (final ς folds to σ), "İstanbul" is
//    "istanbul".
//  * Compatibility forms fold to their plain letters and digits: "ﬁ" -> "fi",
//    full-width "Ａ１" -> "a1", "x²" -> "x2", "ª" -> "a", "ĳ" -> "ij".
//  * Accents: after canonical decomposition the optional diacritics are
//    dropped: the combining accents of Latin, Greek and Cyrillic
//    (é -> e, ά -> α, ё -> е, й -> и), Hebrew points and Arabic vowel signs.
//    Marks that make a different letter elsewhere (Devanagari and Thai vowel
//    signs, kana voicing) are kept, and the text is recomposed (NFC).
//  * Latin letters that Unicode does not decompose are spelled with their
//    base letters: æ -> ae, œ -> oe, ø -> o, ł -> l, đ ð -> d, þ -> th,
//    ħ -> h, ı -> i, ŋ -> n, ŧ -> t, ĸ -> k. Turkish dotted and dotless i
//    both become "i".
//  * Apostrophes: ’ ‘ ʼ ‛ and ´ fold to the ASCII apostrophe '.
//  * U+2010 and U+2011 (typographic hyphens) fold to '-'. Format characters
//    (soft hyphen, zero-width space and joiners, byte-order mark, direction
//    marks) are removed.
//  * Invalid UTF-8: a byte that does not start a valid sequence is read as a
//    Windows-1252 / Latin-1 character (core/utf8.h), so text saved as
//    Latin-1 still folds: "caf\xE9" -> "cafe". Output is always valid UTF-8.
//
// Characters are then classed by Unicode category: word characters (letters,
// marks, numbers of any script, and unassigned or private-use code points),
// the apostrophe, the hyphen, other punctuation and symbols (emoji
// included), and white space (separators and control characters).
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

// Folds a regular expression so that it can be matched against
// normalize_word() output: non-ASCII characters fold as above ("Straße" ->
// "Strasse", "ΑΘΉΝΑ" -> "αθηνα"), ASCII is left exactly as written so that
// regex syntax and escapes (\S, \d, \p{Greek}) keep their meaning. ASCII
// case is for the regex engine's case-insensitive mode to ignore.
std::string fold_pattern(std::string_view pattern);

}  // namespace sf::search
