#include "search/normalize.h"

#include <array>
#include <cstdint>

namespace sf::search {
namespace {

enum class Kind : std::uint8_t { kLetter, kDigit, kApostrophe, kHyphen, kPunct, kSpace, kDrop };

// One input character after folding: up to 4 bytes of UTF-8 ("ss", "th", or
// an unfolded code point of another script).
struct Unit {
  std::array<char, 4> bytes{};
  std::uint8_t size = 0;
  Kind kind = Kind::kDrop;  // default: a character that vanishes

  std::string_view text() const { return {bytes.data(), size}; }
};

Unit ascii_unit(std::string_view s, Kind kind) {
  Unit u;
  u.kind = kind;
  for (char c : s) u.bytes[u.size++] = c;
  return u;
}

Unit encode(char32_t cp, Kind kind) {
  Unit u;
  u.kind = kind;
  auto put = [&u](std::uint32_t b) { u.bytes[u.size++] = static_cast<char>(b); };
  if (cp < 0x80) {
    put(cp);
  } else if (cp < 0x800) {
    put(0xC0 | (cp >> 6));
    put(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    put(0xE0 | (cp >> 12));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  } else {
    put(0xF0 | (cp >> 18));
    put(0x80 | ((cp >> 12) & 0x3F));
    put(0x80 | ((cp >> 6) & 0x3F));
    put(0x80 | (cp & 0x3F));
  }
  return u;
}

// Windows-1252 assigns printable characters to 0x80..0x9F, where Latin-1 has
// controls; subtitles saved by Windows tools use them for quotes and dashes.
// clang-format off
char32_t cp1252_byte(unsigned char b) {
  switch (b) {
    case 0x8A: return 0x160;
    case 0x8C: return 0x152;
    case 0x8E: return 0x17D;
    case 0x91: return 0x2018;
    case 0x92: return 0x2019;
    case 0x93: return 0x201C;
    case 0x94: return 0x201D;
    case 0x96: return 0x2013;
    case 0x97: return 0x2014;
    case 0x9A: return 0x161;
    case 0x9C: return 0x153;
    case 0x9E: return 0x17E;
    case 0x9F: return 0x178;
    default: return b;
  }
}
// clang-format on

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes the code point at s[pos] and advances pos. Overlong forms,
// surrogates and truncated sequences are not UTF-8; their first byte is taken
// as a single-byte legacy character so that Latin-1 text still folds.
char32_t decode(std::string_view s, std::size_t& pos) {
  auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(pos);
  const std::size_t left = s.size() - pos;
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && left >= 2 && is_continuation(byte(pos + 1))) {
    char32_t cp = ((b0 & 0x1Fu) << 6) | (byte(pos + 1) & 0x3Fu);
    pos += 2;
    return cp;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF && left >= 3 && is_continuation(byte(pos + 1)) &&
      is_continuation(byte(pos + 2))) {
    const unsigned char b1 = byte(pos + 1);
    const bool overlong = b0 == 0xE0 && b1 < 0xA0;
    const bool surrogate = b0 == 0xED && b1 >= 0xA0;
    if (!overlong && !surrogate) {
      char32_t cp = ((b0 & 0x0Fu) << 12) | ((b1 & 0x3Fu) << 6) | (byte(pos + 2) & 0x3Fu);
      pos += 3;
      return cp;
    }
  }
  if (b0 >= 0xF0 && b0 <= 0xF4 && left >= 4 && is_continuation(byte(pos + 1)) &&
      is_continuation(byte(pos + 2)) && is_continuation(byte(pos + 3))) {
    const unsigned char b1 = byte(pos + 1);
    const bool overlong = b0 == 0xF0 && b1 < 0x90;
    const bool too_big = b0 == 0xF4 && b1 >= 0x90;
    if (!overlong && !too_big) {
      char32_t cp = ((b0 & 0x07u) << 18) | ((b1 & 0x3Fu) << 12) | ((byte(pos + 2) & 0x3Fu) << 6) |
                    (byte(pos + 3) & 0x3Fu);
      pos += 4;
      return cp;
    }
  }
  ++pos;
  return cp1252_byte(b0);
}

// U+00C0..U+00FF; '*' marks the two symbols (× ÷), '#' the letters that fold
// to two ASCII letters (handled in fold()).
constexpr std::string_view kLatin1 =
    "aaaaaa#ceeeeiiiidnooooo*ouuuuy#s"
    "aaaaaa#ceeeeiiiidnooooo*ouuuuy#y";
static_assert(kLatin1.size() == 0x40);

// clang-format off
// U+0100..U+017F in code point order; '#' marks Ĳ ĳ Œ œ (two letters each).
constexpr std::string_view kLatinExtA =
    "aaaaaa" "cccccccc" "dddd" "eeeeeeeeee" "gggggggg" "hhhh" "iiiiiiiiii" "##" "jj" "kkk"
    "llllllllll" "nnnnnnnnn" "oooooo" "##" "rrrrrr" "ssssssss" "tttttt" "uuuuuuuuuuuu" "ww"
    "yyy" "zzzzzz" "s";
// clang-format on
static_assert(kLatinExtA.size() == 0x80);

Kind ascii_kind(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return Kind::kLetter;
  if (c >= '0' && c <= '9') return Kind::kDigit;
  if (c == '\'') return Kind::kApostrophe;
  if (c == '-') return Kind::kHyphen;
  if (c == ' ' || (c >= '\t' && c <= '\r')) return Kind::kSpace;
  if (c < 0x20 || c == 0x7F) return Kind::kSpace;  // controls separate like spaces
  return Kind::kPunct;
}

// clang-format off
Unit fold(char32_t cp) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return ascii_unit(std::string_view(&c, 1), ascii_kind(c));
  }
  if (cp < 0xA0) return ascii_unit(" ", Kind::kSpace);  // C1 controls
  if (cp < 0xC0) {
    switch (cp) {
      case 0xA0: return ascii_unit(" ", Kind::kSpace);
      case 0xAD: return {};  // soft hyphen: invisible
      case 0xAA: return ascii_unit("a", Kind::kLetter);
      case 0xBA: return ascii_unit("o", Kind::kLetter);
      case 0xB9: return ascii_unit("1", Kind::kDigit);
      case 0xB2: return ascii_unit("2", Kind::kDigit);
      case 0xB3: return ascii_unit("3", Kind::kDigit);
      case 0xB4: return ascii_unit("'", Kind::kApostrophe);
      case 0xB5: return encode(cp, Kind::kLetter);  // micro sign, a letter
      default: return encode(cp, Kind::kPunct);
    }
  }
  if (cp < 0x100) {
    switch (cp) {
      case 0xC6: case 0xE6: return ascii_unit("ae", Kind::kLetter);
      case 0xDE: case 0xFE: return ascii_unit("th", Kind::kLetter);
      case 0xDF: return ascii_unit("ss", Kind::kLetter);
      case 0xD7: case 0xF7: return encode(cp, Kind::kPunct);
      default: return ascii_unit(kLatin1.substr(cp - 0xC0, 1), Kind::kLetter);
    }
  }
  if (cp < 0x180) {
    if (cp == 0x132 || cp == 0x133) return ascii_unit("ij", Kind::kLetter);
    if (cp == 0x152 || cp == 0x153) return ascii_unit("oe", Kind::kLetter);
    return ascii_unit(kLatinExtA.substr(cp - 0x100, 1), Kind::kLetter);
  }
  if (cp == 0x218 || cp == 0x219) return ascii_unit("s", Kind::kLetter);
  if (cp == 0x21A || cp == 0x21B) return ascii_unit("t", Kind::kLetter);
  if (cp == 0x2BC) return ascii_unit("'", Kind::kApostrophe);
  if (cp >= 0x300 && cp <= 0x36F) return {};  // combining marks
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return encode(cp + 0x20, Kind::kLetter);
  if (cp >= 0x410 && cp <= 0x42F) return encode(cp + 0x20, Kind::kLetter);
  if (cp >= 0x400 && cp <= 0x40F) return encode(cp + 0x50, Kind::kLetter);
  if (cp >= 0x2000 && cp <= 0x206F) {
    if (cp <= 0x200A || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F) {
      return ascii_unit(" ", Kind::kSpace);
    }
    if (cp <= 0x200F || cp == 0x2060) return {};  // zero-width characters, direction marks
    if (cp == 0x2010 || cp == 0x2011) return ascii_unit("-", Kind::kHyphen);
    if (cp == 0x2018 || cp == 0x2019 || cp == 0x201B) return ascii_unit("'", Kind::kApostrophe);
    return encode(cp, Kind::kPunct);
  }
  if (cp >= 0x2E00 && cp <= 0x2E7F) return encode(cp, Kind::kPunct);
  if (cp == 0x3000) return ascii_unit(" ", Kind::kSpace);
  if ((cp >= 0x3001 && cp <= 0x3003) || (cp >= 0x3008 && cp <= 0x301F)) {
    return encode(cp, Kind::kPunct);
  }
  if (cp == 0xFEFF) return {};
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0xFFFD) {
    return encode(cp, Kind::kPunct);
  }
  return encode(cp, Kind::kLetter);
}
// clang-format on

std::vector<Unit> fold_all(std::string_view text) {
  std::vector<Unit> units;
  units.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    Unit u = fold(decode(text, pos));
    if (u.kind != Kind::kDrop) units.push_back(u);
  }
  return units;
}

bool is_word_char(Kind k) { return k == Kind::kLetter || k == Kind::kDigit; }

}  // namespace

std::string normalize_word(std::string_view word) {
  const std::vector<Unit> units = fold_all(word);
  std::size_t first = 0;
  while (first < units.size() && !is_word_char(units[first].kind)) ++first;
  std::size_t last = units.size();
  while (last > first && !is_word_char(units[last - 1].kind)) --last;
  std::string out;
  out.reserve(last - first);
  for (std::size_t i = first; i < last; ++i) out += units[i].text();
  return out;
}

std::vector<std::string> tokenize(std::string_view text) {
  const std::vector<Unit> units = fold_all(text);
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) tokens.push_back(std::move(current));
    current.clear();
  };
  for (std::size_t i = 0; i < units.size(); ++i) {
    const Unit& u = units[i];
    if (is_word_char(u.kind)) {
      current += u.text();
      continue;
    }
    // A joiner belongs to the token only with word characters on both sides,
    // so the previous unit is the last one appended to `current`.
    const Kind prev = i > 0 ? units[i - 1].kind : Kind::kSpace;
    const Kind next = i + 1 < units.size() ? units[i + 1].kind : Kind::kSpace;
    const bool in_word = is_word_char(prev) && is_word_char(next);
    const bool in_number =
        prev == Kind::kDigit && next == Kind::kDigit && (u.text() == "." || u.text() == ",");
    if ((u.kind == Kind::kApostrophe && in_word) || in_number) {
      current += u.text();
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

}  // namespace sf::search
