#include "core/utf8.h"

#include <cstdint>

namespace sf::utf8 {
namespace {

// Windows-1252 assigns printable characters to 0x80..0x9F, where Latin-1 has
// controls; subtitles and file names written by Windows tools use them.
char32_t cp1252_byte(unsigned char b) {
  static constexpr char32_t kHigh[32] = {
      0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021,  // 80
      0x2C6,  0x2030, 0x160,  0x2039, 0x152,  0x8D,   0x17D,  0x8F,    // 88
      0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 90
      0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178,   // 98
  };
  return b >= 0x80 && b < 0xA0 ? kHigh[b - 0x80] : b;
}

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence at s[pos], or 0 when there is none.
std::size_t sequence_length(std::string_view s, std::size_t pos) {
  auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  const std::size_t left = s.size() - pos;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return left >= 2 && is_continuation(byte(pos + 1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3 || !is_continuation(byte(pos + 1)) || !is_continuation(byte(pos + 2))) return 0;
    const unsigned char b1 = byte(pos + 1);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4 || !is_continuation(byte(pos + 1)) || !is_continuation(byte(pos + 2)) ||
        !is_continuation(byte(pos + 3))) {
      return 0;
    }
    const unsigned char b1 = byte(pos + 1);
    if (b0 == 0xF0 && b1 < 0x90) return 0;  // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

char32_t next(std::string_view s, std::size_t& pos) {
  auto byte = [&s](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])); };
  const std::uint32_t b0 = byte(pos);
  switch (sequence_length(s, pos)) {
    case 1:
      pos += 1;
      return b0;
    case 2:
      pos += 2;
      return ((b0 & 0x1Fu) << 6) | (byte(pos - 1) & 0x3Fu);
    case 3:
      pos += 3;
      return ((b0 & 0x0Fu) << 12) | ((byte(pos - 2) & 0x3Fu) << 6) | (byte(pos - 1) & 0x3Fu);
    case 4:
      pos += 4;
      return ((b0 & 0x07u) << 18) | ((byte(pos - 3) & 0x3Fu) << 12) | ((byte(pos - 2) & 0x3Fu) << 6) |
             (byte(pos - 1) & 0x3Fu);
    default:
      pos += 1;
      return cp1252_byte(static_cast<unsigned char>(b0));
  }
}

void append(std::string& out, char32_t cp) {
  auto put = [&out](std::uint32_t b) { out.push_back(static_cast<char>(b)); };
  const auto c = static_cast<std::uint32_t>(cp);
  if (c < 0x80) {
    put(c);
  } else if (c < 0x800) {
    put(0xC0 | (c >> 6));
    put(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    put(0xE0 | (c >> 12));
    put(0x80 | ((c >> 6) & 0x3F));
    put(0x80 | (c & 0x3F));
  } else {
    put(0xF0 | (c >> 18));
    put(0x80 | ((c >> 12) & 0x3F));
    put(0x80 | ((c >> 6) & 0x3F));
    put(0x80 | (c & 0x3F));
  }
}

bool is_valid(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t n = sequence_length(s, pos);
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

std::string to_valid(std::string_view s) {
  if (is_valid(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (std::size_t pos = 0; pos < s.size();) append(out, next(s, pos));
  return out;
}

}  // namespace sf::utf8
