// Text whose encoding is not known: file names and transcripts that may be
// UTF-8 or a legacy 8-bit encoding (Latin-1 / Windows-1252 archives).
//
// Reading is lenient: a byte that does not start a well-formed UTF-8
// sequence (overlong forms, surrogates, truncated sequences, stray
// continuation bytes) is read as one Windows-1252 character, which is
// Latin-1 except that 0x80..0x9F hold the quotes and dashes Windows tools
// write. So "caf\xE9" reads as "café", and every byte string has a reading.
//
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sf::utf8 {

// Decodes the character at s[pos] leniently (see above) and advances `pos`
// past it. REQUIRES: pos < s.size().
char32_t next(std::string_view s, std::size_t& pos);

// Appends `cp` to `out` as UTF-8. REQUIRES: cp is a Unicode scalar value
// (not a surrogate, at most U+10FFFF).
void append(std::string& out, char32_t cp);

// True when `s` is entirely well-formed UTF-8.
bool is_valid(std::string_view s);

// `s` as well-formed UTF-8 for display and JSON: unchanged when it already
// is, otherwise each invalid byte becomes its Windows-1252 character
// ("caf\xE9.mp4" -> "café.mp4"). Never fails. The result names the same text
// for a person but not the same bytes: keep the original to open files.
std::string to_valid(std::string_view s);

}  // namespace sf::utf8
