#include "pipeline/segmenter.h"

#include <algorithm>
#include <cmath>

namespace sf::pipeline {
namespace {
constexpr size_t kFrame = 160;  // 10 ms at 16 kHz; scaled for other rates below
}

std::pair<size_t, size_t> sound_bounds(std::span<const float> samples, int sample_rate) {
  const size_t flen = kFrame * static_cast<size_t>(sample_rate) / 16000;
  const size_t frames = samples.size() / flen;
  if (frames == 0) return {0, samples.size()};
  std::vector<float> db(frames);
  for (size_t f = 0; f < frames; ++f) {
    double e = 0;
    for (size_t i = f * flen; i < (f + 1) * flen; ++i) e += static_cast<double>(samples[i]) * samples[i];
    db[f] = static_cast<float>(10.0 * std::log10(e / static_cast<double>(flen) + 1e-12));
  }
  std::vector<float> sorted = db;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(frames / 10), sorted.end());
  const float threshold = std::clamp(sorted[frames / 10] + 12.0f, -60.0f, -28.0f);
  size_t first = frames, last = 0;
  for (size_t f = 0; f < frames; ++f) {
    if (db[f] >= threshold) {
      first = std::min(first, f);
      last = f;
    }
  }
  if (first == frames) return {0, 0};
  const size_t margin = static_cast<size_t>(sample_rate) / 5;
  const size_t begin = first * flen > margin ? first * flen - margin : 0;
  const size_t end = std::min(samples.size(), (last + 1) * flen + margin);
  return {begin, end};
}

Segmenter::Segmenter(SegmenterOptions options, Sink sink) : opt_(options), sink_(std::move(sink)) {}

float Segmenter::frame_db(size_t frame) const {
  const size_t len = kFrame * static_cast<size_t>(opt_.sample_rate) / 16000;
  const size_t a = frame * len, b = std::min(buf_.size(), a + len);
  double e = 0;
  for (size_t i = a; i < b; ++i) e += static_cast<double>(buf_[i]) * buf_[i];
  e /= static_cast<double>(std::max<size_t>(1, b - a));
  return static_cast<float>(10.0 * std::log10(e + 1e-12));
}

size_t Segmenter::find_cut() const {
  const size_t flen = kFrame * static_cast<size_t>(opt_.sample_rate) / 16000;
  const size_t min_samples = static_cast<size_t>(opt_.min_length * opt_.sample_rate);
  const size_t max_samples = static_cast<size_t>(opt_.max_length * opt_.sample_rate);
  if (buf_.size() < min_samples) return 0;
  const size_t frames = buf_.size() / flen;
  std::vector<float> db(frames);
  for (size_t f = 0; f < frames; ++f) db[f] = frame_db(f);
  // Quiet is relative to this window's floor, so hum or room noise does not
  // hide pauses; digital silence falls back to an absolute level.
  std::vector<float> sorted = db;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(frames / 10), sorted.end());
  const float floor_db = frames > 0 ? sorted[frames / 10] : -120.0f;
  const float threshold = std::clamp(floor_db + 12.0f, -60.0f, -28.0f);
  const size_t pause_frames = static_cast<size_t>(opt_.min_pause * 100.0);
  const size_t first = min_samples / flen;

  size_t run_start = 0, run = 0;
  for (size_t f = 0; f < frames; ++f) {
    if (db[f] < threshold) {
      if (run == 0) run_start = f;
      ++run;
      continue;
    }
    if (run >= pause_frames && run_start + run / 2 >= first) return (run_start + run / 2) * flen;
    run = 0;
  }
  if (buf_.size() < max_samples) return 0;
  // No pause long enough: cut at the quietest 100 ms in the last third.
  const size_t lo = frames * 2 / 3, win = 10;
  size_t best = frames - 1;
  float best_db = 1e9f;
  for (size_t f = lo; f + win <= frames; ++f) {
    float s = 0;
    for (size_t k = f; k < f + win; ++k) s += db[k];
    if (s < best_db) {
      best_db = s;
      best = f + win / 2;
    }
  }
  return std::max<size_t>(1, best * flen);
}

void Segmenter::cut(size_t at) {
  AudioSegment seg;
  seg.first_sample = buf_start_;
  seg.samples.assign(buf_.begin(), buf_.begin() + static_cast<long>(at));
  float peak = 0;
  for (float v : seg.samples) peak = std::max(peak, std::fabs(v));
  seg.silent = peak < 1e-3f;  // below -60 dBFS everywhere
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(at));
  buf_start_ += static_cast<int64_t>(at);
  sink_(std::move(seg));
}

void Segmenter::push(std::span<const float> block) {
  buf_.insert(buf_.end(), block.begin(), block.end());
  for (size_t at = find_cut(); at > 0; at = find_cut()) cut(at);
}

void Segmenter::finish() {
  if (!buf_.empty()) cut(buf_.size());
}

}  // namespace sf::pipeline
