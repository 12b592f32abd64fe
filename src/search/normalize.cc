#include "search/normalize.h"

#include <utf8proc.h>

#include <array>
#include <cstdint>

#include "core/utf8.h"

namespace sf::search {
namespace {

enum class Kind : std::uint8_t { kLetter, kDigit, kApostrophe, kHyphen, kPunct, kSpace, kDrop };

// One character after folding.
struct Unit {
  char32_t cp = 0;
  Kind kind = Kind::kDrop;
};

// Apostrophe look-alikes that transcripts and typed queries use for "'", and
// the typographic hyphens that mean "-". Mapped before decomposition, because
// compatibility decomposition turns the acute accent U+00B4 into a space and
// a combining mark, which would split "don´t".
char32_t unify_joiner(char32_t cp) {
  switch (cp) {
    case 0x2018: case 0x2019: case 0x201B: case 0x02BC: case 0x00B4: return U'\'';
    case 0x2010: case 0x2011: return U'-';
    default: return cp;
  }
}

// Diacritics that are optional for reading and searching: the Latin, Greek
// and Cyrillic combining accents, Hebrew points and Arabic vowel signs.
// Other marks (Devanagari and Thai vowel signs, kana voicing marks) spell
// different words and are kept.
bool is_diacritic(char32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0483 && cp <= 0x0489) ||
         (cp >= 0x0591 && cp <= 0x05BD) || cp == 0x05BF || cp == 0x05C1 || cp == 0x05C2 ||
         cp == 0x05C4 || cp == 0x05C5 || cp == 0x05C7 || (cp >= 0x0610 && cp <= 0x061A) ||
         (cp >= 0x064B && cp <= 0x065F) || cp == 0x0670 || (cp >= 0x06D6 && cp <= 0x06DC) ||
         (cp >= 0x06DF && cp <= 0x06E4) || cp == 0x06E7 || cp == 0x06E8 ||
         (cp >= 0x06EA && cp <= 0x06ED) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

// Latin letters that carry a stroke or are ligatures without a Unicode
// decomposition, so no normalization form reaches their base letters. Given
// lowercase (after case folding); "" when `cp` is not one of them.
std::string_view undecomposable_latin(char32_t cp) {
  switch (cp) {
    case 0x00E6: return "ae";  // æ
    case 0x00F0: return "d";   // ð
    case 0x00F8: return "o";   // ø
    case 0x00FE: return "th";  // þ
    case 0x0111: return "d";   // đ
    case 0x0127: return "h";   // ħ
    case 0x0131: return "i";   // dotless ı
    case 0x0138: return "k";   // ĸ
    case 0x0142: return "l";   // ł
    case 0x014B: return "n";   // ŋ
    case 0x0153: return "oe";  // œ
    case 0x0167: return "t";   // ŧ
    default: return {};
  }
}

// Appends the folded form of one code point to `out`: compatibility
// decomposition with full case folding (utf8proc), diacritics dropped,
// undecomposable Latin letters spelled with their base letters.
void fold_code_point(char32_t cp, std::vector<utf8proc_int32_t>& out) {
  cp = unify_joiner(cp);
  std::array<utf8proc_int32_t, 32> buf{};
  const auto options =
      static_cast<utf8proc_option_t>(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE);
  const utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf.data(),
                                                     static_cast<utf8proc_ssize_t>(buf.size()), options,
                                                     nullptr);
  if (n < 0 || n > static_cast<utf8proc_ssize_t>(buf.size())) {
    // No code point decomposes this far; keep it as it is rather than lose it.
    out.push_back(static_cast<utf8proc_int32_t>(cp));
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    const auto d = static_cast<char32_t>(buf[static_cast<std::size_t>(i)]);
    if (is_diacritic(d)) continue;
    const std::string_view spelled = undecomposable_latin(d);
    if (spelled.empty()) {
      out.push_back(static_cast<utf8proc_int32_t>(d));
    } else {
      for (char c : spelled) out.push_back(c);
    }
  }
}

// The folded code points of `text`, recomposed (NFC) so that marks kept on
// purpose sit on their letters and Hangul syllables are whole again.
std::vector<utf8proc_int32_t> fold_text(std::string_view text, bool ascii_verbatim) {
  std::vector<utf8proc_int32_t> cps;
  cps.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const char32_t cp = utf8::next(text, pos);
    if (ascii_verbatim && cp < 0x80) {
      cps.push_back(static_cast<utf8proc_int32_t>(cp));
    } else {
      fold_code_point(cp, cps);
    }
  }
  if (cps.empty()) return cps;
  const utf8proc_ssize_t n = utf8proc_normalize_utf32(
      cps.data(), static_cast<utf8proc_ssize_t>(cps.size()), UTF8PROC_COMPOSE);
  if (n >= 0) cps.resize(static_cast<std::size_t>(n));
  return cps;
}

Kind classify(char32_t cp) {
  if (cp == U'\'') return Kind::kApostrophe;
  if (cp == U'-') return Kind::kHyphen;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_ND:
      return Kind::kDigit;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
      return Kind::kSpace;
    case UTF8PROC_CATEGORY_CF:
      return Kind::kDrop;  // soft hyphen, zero-width space and joiners, byte-order mark
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return Kind::kPunct;
    default:
      // Letters, marks kept on purpose, other numbers, and code points
      // Unicode does not assign (yet) or leaves to private use.
      return Kind::kLetter;
  }
}

std::vector<Unit> fold_all(std::string_view text) {
  const std::vector<utf8proc_int32_t> cps = fold_text(text, false);
  std::vector<Unit> units;
  units.reserve(cps.size());
  for (utf8proc_int32_t c : cps) {
    const auto cp = static_cast<char32_t>(c);
    const Kind kind = classify(cp);
    if (kind != Kind::kDrop) units.push_back(Unit{cp, kind});
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
  for (std::size_t i = first; i < last; ++i) utf8::append(out, units[i].cp);
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
      utf8::append(current, u.cp);
      continue;
    }
    // A joiner belongs to the token only with word characters on both sides,
    // so the previous unit is the last one appended to `current`.
    const Kind prev = i > 0 ? units[i - 1].kind : Kind::kSpace;
    const Kind next = i + 1 < units.size() ? units[i + 1].kind : Kind::kSpace;
    const bool in_word = is_word_char(prev) && is_word_char(next);
    const bool in_number = prev == Kind::kDigit && next == Kind::kDigit && (u.cp == U'.' || u.cp == U',');
    if ((u.kind == Kind::kApostrophe && in_word) || in_number) {
      utf8::append(current, u.cp);
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

std::string fold_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (utf8proc_int32_t c : fold_text(pattern, true)) utf8::append(out, static_cast<char32_t>(c));
  return out;
}

}  // namespace sf::search
