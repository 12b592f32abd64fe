#include "pipeline/segmenter.h"

#include <algorithm>
#include <cmath>

namespace sf::pipeline {
namespace {
constexpr size_t kFrame = 160;  // 10 ms at 16 kHz; scaled for other rates below

size_t frame_len(int sample_rate) { return std::max<size_t>(1, kFrame * static_cast<size_t>(sample_rate) / 16000); }

float energy_db(const float* p, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; ++i) e += static_cast<double>(p[i]) * p[i];
  return static_cast<float>(10.0 * std::log10(e / static_cast<double>(std::max<size_t>(1, n)) + 1e-12));
}

// Quiet is relative to the floor of the frames looked at (the level 10% of
// them stay under), so hum or room noise does not hide pauses; digital
// silence falls back to an absolute level.
float quiet_threshold(std::span<const float> db) {
  if (db.empty()) return -60.0f;
  std::vector<float> sorted(db.begin(), db.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 10), sorted.end());
  return std::clamp(sorted[sorted.size() / 10] + 12.0f, -60.0f, -28.0f);
}

// [begin, end) samples from 0.2 s before the first loud frame to 0.2 s after
// the last, given the frames' levels; begin == end when all is quiet.
std::pair<size_t, size_t> bounds_from_db(std::span<const float> db, size_t flen, size_t samples, int sample_rate) {
  const float threshold = quiet_threshold(db);
  size_t first = db.size(), last = 0;
  for (size_t f = 0; f < db.size(); ++f) {
    if (db[f] >= threshold) {
      first = std::min(first, f);
      last = f;
    }
  }
  if (first == db.size()) return {0, 0};
  const size_t margin = static_cast<size_t>(sample_rate) / 5;
  const size_t begin = first * flen > margin ? first * flen - margin : 0;
  const size_t end = std::min(samples, (last + 1) * flen + margin);
  return {begin, end};
}

}  // namespace

std::pair<size_t, size_t> sound_bounds(std::span<const float> samples, int sample_rate) {
  const size_t flen = frame_len(sample_rate);
  const size_t frames = samples.size() / flen;
  if (frames == 0) return {0, samples.size()};
  std::vector<float> db(frames);
  for (size_t f = 0; f < frames; ++f) db[f] = energy_db(samples.data() + f * flen, flen);
  return bounds_from_db(db, flen, samples.size(), sample_rate);
}

Segmenter::Segmenter(SegmenterOptions options, Sink sink)
    : opt_(options), sink_(std::move(sink)), flen_(frame_len(options.sample_rate)) {}

void Segmenter::measure_new_frames() {
  while ((db_.size() + 1) * flen_ <= buf_.size()) db_.push_back(energy_db(buf_.data() + db_.size() * flen_, flen_));
}

size_t Segmenter::find_cut() const {
  const size_t flen = flen_;
  const size_t min_samples = static_cast<size_t>(opt_.min_length * opt_.sample_rate);
  const size_t max_samples = static_cast<size_t>(opt_.max_length * opt_.sample_rate);
  if (buf_.size() < min_samples) return 0;
  const std::span<const float> db(db_);
  const size_t frames = db.size();
  const float threshold = frames > 0 ? quiet_threshold(db) : std::clamp(-120.0f + 12.0f, -60.0f, -28.0f);
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
  float peak = 0;
  for (size_t i = 0; i < at; ++i) peak = std::max(peak, std::fabs(buf_[i]));
  seg.silent = peak < 1e-3f;  // below -60 dBFS everywhere
  // The frames wholly inside the segment; a cut inside a frame (only the
  // forced cut or the final flush) leaves that frame to be measured again.
  const size_t whole = at / flen_;
  if (!seg.silent) {
    const auto [b, e] = bounds_from_db(std::span<const float>(db_).first(whole), flen_, at, opt_.sample_rate);
    seg.sound_begin = whole == 0 ? 0 : b;
    seg.sound_end = whole == 0 ? at : e;
  }
  // Digital silence carries no samples: nothing would read them.
  if (!seg.silent) seg.samples.assign(buf_.begin(), buf_.begin() + static_cast<long>(at));
  seg.length = static_cast<int64_t>(at);
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(at));
  if (at % flen_ == 0) {
    db_.erase(db_.begin(), db_.begin() + static_cast<long>(whole));
  } else {
    db_.clear();
    measure_new_frames();
  }
  buf_start_ += static_cast<int64_t>(at);
  sink_(std::move(seg));
}

void Segmenter::push(std::span<const float> block) {
  buf_.insert(buf_.end(), block.begin(), block.end());
  measure_new_frames();
  for (size_t at = find_cut(); at > 0; at = find_cut()) cut(at);
}

void Segmenter::finish() {
  if (!buf_.empty()) cut(buf_.size());
}

}  // namespace sf::pipeline
