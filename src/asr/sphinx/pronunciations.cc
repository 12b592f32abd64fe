#include "asr/sphinx/pronunciations.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "asr/sphinx/letter_to_sound.h"

namespace sf::asr::sphinx {
namespace {

constexpr std::array<std::string_view, 39> kPhones = {
    "AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH", "EH", "ER", "EY", "F",  "G",  "HH", "IH", "IY", "JH", "K",
    "L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",  "S",  "SH", "T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",  "ZH"};

std::vector<PhoneId> parse_phones(std::string_view text) {
  std::vector<PhoneId> out;
  std::istringstream in{std::string(text)};
  for (std::string p; in >> p;) {
    const PhoneId id = phone_id(p);
    if (id == 255) return {};
    out.push_back(id);
  }
  return out;
}

}  // namespace

PhoneId phone_id(std::string_view phone) {
  auto it = std::lower_bound(kPhones.begin(), kPhones.end(), phone);
  if (it == kPhones.end() || *it != phone) return 255;
  return static_cast<PhoneId>(it - kPhones.begin());
}

bool is_vowel(PhoneId phone) {
  if (phone >= kPhones.size()) return false;
  const char c = kPhones[phone][0];
  return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

uint64_t vowel_mask() {
  uint64_t mask = 0;
  for (size_t p = 0; p < kPhones.size(); ++p) {
    if (is_vowel(static_cast<PhoneId>(p))) mask |= uint64_t{1} << p;
  }
  return mask;
}

Result<std::unique_ptr<Pronunciations>> Pronunciations::load(const std::string& model) {
  namespace fs = std::filesystem;
  const fs::path dir = model.empty() ? fs::path(SF_SPHINX_MODELDIR) / "en-us" : fs::path(model);
  const fs::path file = dir / "cmudict-en-us.dict";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return not_found("PocketSphinx dictionary " + file.string() +
                     " is missing (install pocketsphinx-en-us, or pass --model DIR)");
  }
  std::ifstream in(file);
  if (!in) return corrupt("cannot read the PocketSphinx dictionary " + file.string());
  std::unordered_map<std::string, std::vector<PhoneId>> words;
  words.reserve(140000);
  std::string line;
  while (std::getline(in, line)) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0) continue;
    std::string word = line.substr(0, space);
    // "word(2)" is an alternate pronunciation: the first one is kept.
    if (word.back() == ')') continue;
    std::vector<PhoneId> phones = parse_phones(std::string_view(line).substr(space + 1));
    if (!phones.empty()) words.emplace(std::move(word), std::move(phones));
  }
  if (in.bad()) return corrupt("cannot read the PocketSphinx dictionary " + file.string());
  return std::make_unique<Pronunciations>(std::move(words));
}

std::vector<PhoneId> Pronunciations::of(std::string_view word) const {
  if (auto it = words_.find(std::string(word)); it != words_.end()) return it->second;
  if (std::optional<std::string> guess = letter_to_sound(word)) return parse_phones(*guess);
  return {};
}

}  // namespace sf::asr::sphinx
