#include "asr/whisper/utf8.h"

namespace sf::asr::whisper::utf8 {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Length of the well-formed sequence at s[i], or 0 when it is invalid.
size_t sequence_length(std::string_view s, size_t i, char32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len = 0;
  char32_t v = 0;
  char32_t min = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(i + k) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

}  // namespace

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t n = sequence_length(s, i, &cp);
    if (n == 0) {
      out.push_back(kReplacement);
      i += 1;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : decode(s)) append(out, cp);
  return out;
}

bool valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    size_t n = sequence_length(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_space(char32_t c) {
  return in(c, 0x09, 0x0D) || c == 0x20 || in(c, 0x1C, 0x1F) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || in(c, 0x2000, 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_number(char32_t c) {
  return in(c, '0', '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 || in(c, 0xBC, 0xBE) ||
         in(c, 0x660, 0x669) || in(c, 0x6F0, 0x6F9) || in(c, 0x966, 0x96F) || in(c, 0x9E6, 0x9EF) ||
         in(c, 0xE50, 0xE59) || c == 0x2070 || in(c, 0x2074, 0x2079) || in(c, 0x2080, 0x2089) ||
         in(c, 0x2150, 0x2189) || in(c, 0x2460, 0x249B) || c == 0x3007 || in(c, 0x3021, 0x3029) ||
         in(c, 0xFF10, 0xFF19);
}

bool is_letter(char32_t c) {
  if (in(c, 'A', 'Z') || in(c, 'a', 'z')) return true;
  if (c < 0x80) return false;
  if (c == 0xAA || c == 0xB5 || c == 0xBA) return true;
  if (in(c, 0xC0, 0x24F)) return c != 0xD7 && c != 0xF7;
  return in(c, 0x250, 0x2C1) || in(c, 0x370, 0x373) || in(c, 0x376, 0x377) || in(c, 0x37B, 0x37D) ||
         c == 0x386 || in(c, 0x388, 0x3FF) || in(c, 0x400, 0x481) || in(c, 0x48A, 0x52F) ||
         in(c, 0x531, 0x556) || in(c, 0x561, 0x587) || in(c, 0x5D0, 0x5EA) || in(c, 0x620, 0x64A) ||
         in(c, 0x671, 0x6D3) || in(c, 0x900, 0x963) || in(c, 0x971, 0x9E5) || in(c, 0x9F0, 0xDFF) ||
         in(c, 0xE01, 0xE4F) || in(c, 0xE5A, 0xEFF) || in(c, 0x10A0, 0x10FF) || in(c, 0x1100, 0x11FF) ||
         in(c, 0x1E00, 0x1FFF) || c == 0x3005 || c == 0x3006 || in(c, 0x3041, 0x30FF) ||
         in(c, 0x3105, 0x318E) || in(c, 0x3400, 0x4DBF) || in(c, 0x4E00, 0x9FFF) ||
         in(c, 0xAC00, 0xD7A3) || in(c, 0xF900, 0xFAFF) || in(c, 0xFF21, 0xFF3A) ||
         in(c, 0xFF41, 0xFF5A) || in(c, 0xFF66, 0xFF9F) || in(c, 0x20000, 0x2FFFF);
}

}  // namespace sf::asr::whisper::utf8
