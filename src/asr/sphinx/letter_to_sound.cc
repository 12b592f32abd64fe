#include "asr/sphinx/letter_to_sound.h"

#include <cctype>
#include <mutex>

#if SF_HAVE_FLITE_LTS
extern "C" {
#include <cst_lexicon.h>
#include <cst_val.h>
cst_lexicon* cmu_lex_init(void);
}
#endif

namespace sf::asr::sphinx {

std::optional<std::string> map_flite_phone(std::string_view phone) {
  std::string p(phone);
  while (!p.empty() && std::isdigit(static_cast<unsigned char>(p.back()))) p.pop_back();
  if (p.empty() || p == "pau") return std::nullopt;
  // flite's set is the model's, with two reductions the model spells out.
  if (p == "ax") return "AH";
  if (p == "axr") return "ER";
  static constexpr std::string_view kModel[] = {
      "aa", "ae", "ah", "ao", "aw", "ay", "b",  "ch", "d",  "dh", "eh", "er", "ey", "f",  "g",  "hh", "ih", "iy", "jh", "k",
      "l",  "m",  "n",  "ng", "ow", "oy", "p",  "r",  "s",  "sh", "t",  "th", "uh", "uw", "v",  "w",  "y",  "z",  "zh"};
  for (std::string_view m : kModel) {
    if (p == m) {
      std::string up;
      for (char c : p) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return up;
    }
  }
  return std::nullopt;
}

std::optional<std::string> letter_to_sound(std::string_view word) {
  if (word.empty() || word.size() > 64) return std::nullopt;
  bool letters = false;
  for (char c : word) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      letters = true;
    } else if (c != '\'') {
      return std::nullopt;
    }
  }
  if (!letters) return std::nullopt;
#if SF_HAVE_FLITE_LTS
  static std::mutex mu;
  std::lock_guard lock(mu);
  static cst_lexicon* lex = cmu_lex_init();
  if (lex == nullptr) return std::nullopt;
  std::string w(word);
  cst_val* phones = lex_lookup(lex, w.c_str(), nullptr, nullptr);
  if (phones == nullptr) return std::nullopt;
  std::string out;
  bool ok = true;
  for (const cst_val* v = phones; v != nullptr; v = val_cdr(v)) {
    auto p = map_flite_phone(val_string(val_car(v)));
    if (!p) {
      std::string_view raw = val_string(val_car(v));
      if (raw.starts_with("pau")) continue;
      ok = false;
      break;
    }
    if (!out.empty()) out += ' ';
    out += *p;
  }
  delete_val(phones);
  if (!ok || out.empty()) return std::nullopt;
  return out;
#else
  return std::nullopt;
#endif
}

}  // namespace sf::asr::sphinx
