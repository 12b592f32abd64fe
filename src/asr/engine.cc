#include "asr/engine.h"

#include <algorithm>

#include "asr/sphinx/sphinx_engine.h"
#include "asr/whisper/whisper_engine.h"

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
}

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options) {
  if (options.engine == "sphinx") return sphinx::create_engine(options);
  if (options.engine == "whisper") return whisper::create_engine(options);
  return invalid_argument("unknown engine '" + options.engine + "' (expected sphinx or whisper)");
}

}  // namespace sf::asr
