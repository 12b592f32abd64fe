// Small UTF-8 and Unicode helpers for the tokenizer and word splitting.
//
// The character classes approximate Unicode's \p{L}, \p{N} and \s over the
// scripts Whisper speaks (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic,
// Indic, Thai, Georgian, Hangul, kana, CJK ideographs); anything else counts
// as "other" (punctuation, symbols, emoji). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sf::asr::whisper::utf8 {

// Code points of `s`; each invalid byte becomes U+FFFD.
std::vector<char32_t> decode(std::string_view s);
void append(std::string& out, char32_t cp);
// `s` with every invalid sequence replaced by U+FFFD.
std::string sanitize(std::string_view s);
// True when `s` is well-formed UTF-8.
bool valid(std::string_view s);

bool is_space(char32_t c);
bool is_letter(char32_t c);
bool is_number(char32_t c);

}  // namespace sf::asr::whisper::utf8
