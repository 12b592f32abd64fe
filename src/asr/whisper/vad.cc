#include "asr/whisper/vad.h"

#include <algorithm>
#include <cmath>

namespace sf::asr::whisper {

std::vector<SpeechChunk> vad_chunks(std::span<const float> audio, const VadOptions& o) {
  const int64_t n = static_cast<int64_t>(audio.size());
  const int64_t frame = std::max<int64_t>(1, std::llround(o.frame_seconds * o.sample_rate));
  const int64_t n_frames = (n + frame - 1) / frame;
  if (n_frames == 0) return {};
  std::vector<double> db(static_cast<size_t>(n_frames));
  for (int64_t f = 0; f < n_frames; ++f) {
    const int64_t a = f * frame, b = std::min(n, a + frame);
    double e = 0;
    for (int64_t i = a; i < b; ++i) e += static_cast<double>(audio[static_cast<size_t>(i)]) * audio[static_cast<size_t>(i)];
    e /= static_cast<double>(b - a);
    db[static_cast<size_t>(f)] = 10.0 * std::log10(std::max(e, 1e-12));
  }
  std::vector<double> sorted = db;
  std::sort(sorted.begin(), sorted.end());
  const double floor_db = sorted[sorted.size() / 10];
  const double peak_db = sorted.back();
  if (peak_db < o.silence_db) return {};
  double threshold = floor_db + 0.3 * (peak_db - floor_db);
  if (peak_db - floor_db < o.min_range_db) threshold = o.silence_db;
  threshold = std::max(threshold, o.silence_db);

  // Speech runs in frames, [a, b).
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (int64_t f = 0; f < n_frames;) {
    if (db[static_cast<size_t>(f)] < threshold) {
      ++f;
      continue;
    }
    int64_t g = f;
    while (g < n_frames && db[static_cast<size_t>(g)] >= threshold) ++g;
    runs.emplace_back(f, g);
    f = g;
  }
  const int64_t gap = std::llround(o.min_silence / o.frame_seconds);
  std::vector<std::pair<int64_t, int64_t>> joined;
  for (const auto& r : runs) {
    if (!joined.empty() && r.first - joined.back().second < gap) {
      joined.back().second = r.second;
    } else {
      joined.push_back(r);
    }
  }
  const int64_t min_len = std::llround(o.min_speech / o.frame_seconds);
  const int64_t pad = std::llround(o.pad * o.sample_rate);
  std::vector<SpeechChunk> speech;
  for (const auto& r : joined) {
    if (r.second - r.first < min_len) continue;
    int64_t a = std::max<int64_t>(0, r.first * frame - pad);
    int64_t b = std::min(n, r.second * frame + pad);
    if (!speech.empty()) a = std::max(a, speech.back().end);
    if (b > a) speech.push_back({a, b});
  }

  const int64_t max_len = std::llround(o.max_chunk * o.sample_rate);
  auto quietest_cut = [&](int64_t from, int64_t to) {
    // The quietest frame boundary in the second half of [from, from + max).
    int64_t lo = (from + max_len / 2) / frame + 1, hi = std::min(to, from + max_len) / frame;
    int64_t best = hi;
    double best_db = 1e30;
    for (int64_t f = lo; f < hi && f < n_frames; ++f) {
      if (db[static_cast<size_t>(f)] < best_db) {
        best_db = db[static_cast<size_t>(f)];
        best = f;
      }
    }
    return std::clamp(best * frame, from + 1, from + max_len);
  };
  std::vector<SpeechChunk> chunks;
  for (SpeechChunk s : speech) {
    while (s.end - s.start > max_len) {
      const int64_t cut = quietest_cut(s.start, s.end);
      chunks.push_back({s.start, cut});
      s.start = cut;
    }
    if (!chunks.empty() && s.end - chunks.back().start <= max_len) {
      chunks.back().end = s.end;
    } else {
      chunks.push_back(s);
    }
  }
  return chunks;
}

}  // namespace sf::asr::whisper
