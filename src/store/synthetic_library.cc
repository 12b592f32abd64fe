#include "store/synthetic_library.h"

#include <cmath>
#include <random>

namespace sf::store {

const std::vector<std::string>& synthetic_vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> v = {
        "the", "and", "to", "of", "a", "in", "is", "that", "we", "it", "for", "you", "this", "on", "with",
        "are", "be", "have", "was", "not", "they", "at", "our", "city", "will", "people", "council", "can",
        "school", "budget", "year", "new", "time", "about", "today", "morning", "news", "public", "water",
        "street", "tax", "money", "plan", "vote", "park", "police", "teachers", "football", "weather", "rain"};
    // A long tail of rarer, made-up words, so the vocabulary is the size of
    // real speech's.
    const char* syl[] = {"ka", "lo", "mi", "ren", "tor", "vi", "sa", "pel", "dun", "ari", "qua", "zen"};
    for (const char* a : syl) {
      for (const char* b : syl) {
        for (const char* c : syl) v.push_back(std::string(a) + b + c);
      }
    }
    return v;
  }();
  return words;
}

Result<int64_t> fill_synthetic(Library* lib, const SyntheticLibraryOptions& options) {
  const auto& vocab = synthetic_vocabulary();
  // Zipf (s = 1) over the vocabulary by its cumulative weights.
  std::vector<double> weights(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) weights[i] = 1.0 / static_cast<double>(i + 1);
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());

  const int talks = static_cast<int>(std::ceil(options.hours * 60 / options.talk_minutes));
  const double talk_seconds = options.talk_minutes * 60;
  int64_t words = 0;
  for (int t = 0; t < talks; ++t) {
    TranscriptKey key{"synthetic:" + std::to_string(options.seed) + ":" + std::to_string(t), "synthetic", "",
                      "{}"};
    SF_ASSIGN_OR_RETURN(auto have, lib->find(key));
    if (have) {
      words += static_cast<int64_t>(have->transcript.words().size());
      continue;
    }
    std::mt19937_64 rng(options.seed * 1000003u + static_cast<uint64_t>(t));
    asr::Transcript tr;
    tr.language = "en";
    double now = 0;
    while (now < talk_seconds) {
      asr::Segment seg;
      seg.start = now;
      for (int i = 0; i < 25; ++i) {
        asr::Word w{vocab[pick(rng)], now, now + 0.3, 0.9f};
        seg.text += (seg.text.empty() ? "" : " ") + w.text;
        seg.words.push_back(std::move(w));
        now += 0.4;
      }
      seg.end = now;
      tr.segments.push_back(std::move(seg));
    }
    words += static_cast<int64_t>(tr.words().size());
    MediaDescription m{"/synthetic/talk" + std::to_string(t) + ".mp4", "synthetic talk " + std::to_string(t),
                       1, talk_seconds};
    SF_RETURN_IF_ERROR(lib->put(key, m, talk_seconds, tr));
  }
  return words;
}

}  // namespace sf::store
