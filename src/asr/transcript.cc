#include "asr/transcript.h"

#include <algorithm>

namespace sf::asr {

std::vector<Word> Transcript::words() const {
  std::vector<Word> out;
  for (const auto& s : segments) out.insert(out.end(), s.words.begin(), s.words.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const Word& a, const Word& b) { return a.start < b.start; });
  return out;
}

void Transcript::append(Transcript other) {
  if (language.empty()) language = other.language;
  for (auto& s : other.segments) segments.push_back(std::move(s));
  for (auto& h : other.hits) hits.push_back(std::move(h));
}

}  // namespace sf::asr
