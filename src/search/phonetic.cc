#include "search/phonetic.h"

#include <algorithm>
#include <limits>

#include "search/normalize.h"

namespace sf::search {
namespace {

bool vowel(uint64_t vowels, uint8_t p) { return p < 64 && ((vowels >> p) & 1u) != 0; }

double substitution(uint8_t a, uint8_t b, uint64_t vowels) {
  if (a == b) return 0;
  return vowel(vowels, a) && vowel(vowels, b) ? 0.5 : 1.0;
}

// Every end position of `text` where a run close enough to `query` ends,
// with the start of its cheapest run: Sellers' approximate matching (the
// edit distance with a free start anywhere in the text).
struct RunEnd {
  double cost;
  size_t begin, end;
};

std::vector<RunEnd> runs(std::span<const uint8_t> query, std::span<const uint8_t> text, uint64_t vowels) {
  const size_t m = query.size(), n = text.size();
  // column j: cost[i] of query[0, i) against a run ending at text j; start[i] where that run begins.
  std::vector<double> cost(m + 1), next(m + 1);
  std::vector<size_t> start(m + 1), next_start(m + 1);
  for (size_t i = 0; i <= m; ++i) {
    cost[i] = static_cast<double>(i);
    start[i] = 0;
  }
  std::vector<RunEnd> out;
  out.push_back({cost[m], 0, 0});
  for (size_t j = 1; j <= n; ++j) {
    next[0] = 0;
    next_start[0] = j;
    for (size_t i = 1; i <= m; ++i) {
      double best = cost[i - 1] + substitution(query[i - 1], text[j - 1], vowels);
      size_t s = start[i - 1];
      if (cost[i] + 1 < best) {  // text phone left out of the query
        best = cost[i] + 1;
        s = start[i];
      }
      if (next[i - 1] + 1 < best) {  // query phone missing in the text
        best = next[i - 1] + 1;
        s = next_start[i - 1];
      }
      next[i] = best;
      next_start[i] = s;
    }
    std::swap(cost, next);
    std::swap(start, next_start);
    out.push_back({cost[m], start[m], j});
  }
  return out;
}

}  // namespace

double closest_run(std::span<const uint8_t> query, std::span<const uint8_t> text, uint64_t vowels, size_t* begin,
                   size_t* end) {
  const std::vector<RunEnd> all = runs(query, text, vowels);
  const RunEnd* best = &all.front();
  for (const RunEnd& r : all) {
    if (r.cost < best->cost) best = &r;
  }
  if (begin != nullptr) *begin = best->begin;
  if (end != nullptr) *end = best->end;
  return best->cost;
}

std::vector<TimeSpan> listening_spans(const asr::Transcript& transcript, std::span<const PhoneticQuery> queries,
                                      const PronounceFn& pronounce, uint64_t vowels, const ListenOptions& options) {
  std::vector<TimeSpan> spans;
  for (const asr::Segment& seg : transcript.segments) {
    // The segment's phones, and for each the word it belongs to.
    Phones text;
    std::vector<size_t> word_of;
    for (size_t w = 0; w < seg.words.size(); ++w) {
      for (const std::string& token : tokenize(seg.words[w].text)) {
        for (uint8_t p : pronounce(token)) {
          text.push_back(p);
          word_of.push_back(w);
        }
      }
    }
    if (text.empty()) continue;
    for (const PhoneticQuery& q : queries) {
      if (q.phones.empty()) continue;
      const double limit = options.max_cost_per_phone * static_cast<double>(q.phones.size());
      // A run is at least one phone long; every close run is a place.
      for (const RunEnd& r : runs(q.phones, text, vowels)) {
        if (r.end <= r.begin || r.cost > limit || r.cost >= static_cast<double>(q.phones.size())) continue;
        const asr::Word& first = seg.words[word_of[r.begin]];
        const asr::Word& last = seg.words[word_of[r.end - 1]];
        spans.push_back({std::max(0.0, first.start - options.pad), last.end + options.pad});
      }
    }
  }
  std::sort(spans.begin(), spans.end(), [](const TimeSpan& a, const TimeSpan& b) { return a.start < b.start; });
  std::vector<TimeSpan> merged;
  for (const TimeSpan& s : spans) {
    if (!merged.empty() && s.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
    } else {
      merged.push_back(s);
    }
  }
  return merged;
}

}  // namespace sf::search
