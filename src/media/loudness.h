// Loudness per EBU R128 / ITU-R BS.1770-4, and loudness normalization of a
// media file.
//
// LoudnessMeter is the measurement, a pure function of the samples:
// K-weighting (the standard's two biquads, derived for any sample rate),
// mean square over 400 ms blocks every 100 ms, channel weights (1.0 for
// left, right, centre; 1.41 for the surrounds; LFE left out), integrated
// loudness with the absolute gate (-70 LUFS) and the relative gate (-10 LU),
// loudness range over 3 s short-term windows (gates -70 LUFS and -20 LU,
// 10th to 95th percentile), and true peak from 4x oversampling.
//
// normalize_loudness() is the two-pass correction of a file: measure every
// audio stream, then write a copy whose picture and other streams are
// stream-copied (packets untouched) and whose audio is corrected by linear
// gain to the target, with a look-ahead peak limiter only where the gain
// would push the true peak over the ceiling. Channel layout and sample rate
// are kept; the codec is kept where libav can encode it, else AAC.
#pragma once

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::media {

struct Loudness {
  // LUFS; -inf when no block passes the absolute gate (silence, or shorter
  // than one 400 ms block).
  double integrated = -std::numeric_limits<double>::infinity();
  double range = 0;  // LU
  // dBTP, the highest of all channels; -inf for digital silence.
  double true_peak = -std::numeric_limits<double>::infinity();
  double sample_peak = -std::numeric_limits<double>::infinity();  // dBFS
  double duration = 0;                                           // seconds measured
  bool measurable() const { return std::isfinite(integrated); }
};

// Streaming BS.1770-4 meter for interleaved float samples (full scale 1.0).
// Not thread-safe; one meter per stream.
class LoudnessMeter {
 public:
  // `weights`: one per channel (see channel_weights()); its size is the
  // channel count. REQUIRES: rate >= 8000, 1..32 channels.
  LoudnessMeter(int rate, std::vector<double> weights);
  ~LoudnessMeter();
  LoudnessMeter(const LoudnessMeter&) = delete;
  LoudnessMeter& operator=(const LoudnessMeter&) = delete;

  // Adds `frames` frames of interleaved samples.
  void add(const float* interleaved, size_t frames);
  // The measurement of everything added so far.
  Loudness result() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// BS.1770 channel weights for a libav channel layout given as its channel
// count and order mask (AVChannelLayout's u.mask; 0 when unknown: then
// mono/stereo weigh 1.0 each, and 5.1 in the usual order gets LFE 0 and
// surrounds 1.41).
std::vector<double> channel_weights(int channels, unsigned long long mask);

// Measures the audio stream `stream_index` of `path` (-1: the best audio
// stream). Errors name the path: kNotFound, kPermission, kBadMedia (no
// audio), kCancelled when `cancel` or a process stop request is set.
Result<Loudness> measure_loudness(const std::string& path, int stream_index = -1,
                                  const std::atomic<bool>* cancel = nullptr);

struct NormalizeOptions {
  double target = -23;      // LUFS, integrated
  double true_peak = -1;    // dBTP ceiling
  // Below this integrated loudness an input is reported, never amplified
  // (silence, room tone, noise).
  double quietest = -60;
  const std::atomic<bool>* cancel = nullptr;
};

struct NormalizedStream {
  int index = 0;            // stream index in the source (and the output)
  Loudness before, after;
  double gain_db = 0;       // linear gain applied
  bool limited = false;     // the look-ahead limiter was needed
  std::string codec;        // audio codec written
  std::string note;         // why a stream was copied unchanged ("silent", ...)
};

struct NormalizeResult {
  std::vector<NormalizedStream> streams;  // one per audio stream
  bool changed = false;                   // false: every audio stream was left as it was
};

// Writes the loudness-normalized copy of `source` to `output` (same
// container format as the source, chosen from `output`'s extension when
// libav knows it), under a temporary name renamed when complete: on any
// error nothing is left at `output`. `source` is only read. Streams that
// are not audio are copied packet for packet with their timestamps;
// streams libav's muxer for `output` cannot hold (some data tracks) are
// left out with a warning. An audio stream that is silent, shorter than a
// 400 ms block or quieter than `quietest` is copied unchanged and reported
// in its note. The result's `after` is measured again from the written
// file. Errors: kNotFound / kPermission / kBadMedia naming the source (no
// audio stream at all is kBadMedia), kOutput naming the output, kCancelled.
Result<NormalizeResult> normalize_loudness(const std::string& source, const std::string& output,
                                           const NormalizeOptions& options);

// The extension (with the dot) for the normalized copy of `source`: the
// source's own when libav has a muxer for it, else ".mkv" (Matroska holds
// any codec), e.g. for a file without an extension.
std::string normalized_extension(const std::string& source);

// The gain and limiting normalize_loudness() decides for a stream measured
// as `before`, with `margin` dB of headroom under the ceiling for the
// codec: {gain in dB, limiter needed}. Pure; exposed for tests.
struct GainPlan {
  double gain_db = 0;
  bool limit = false;
  double ceiling_db = 0;  // the limiter's ceiling (ceiling - margin)
};
GainPlan plan_gain(const Loudness& before, const NormalizeOptions& options, double margin);

// The look-ahead peak limiter normalize_loudness() uses: interleaved float
// samples in, the same samples out `latency()` frames later, scaled so that
// no sample exceeds `ceiling` (linear). Gain falls over the look-ahead
// window before a peak and recovers over `release` seconds after it.
// Not thread-safe.
class PeakLimiter {
 public:
  PeakLimiter(int rate, int channels, double ceiling, double lookahead = 0.005, double release = 0.08);
  ~PeakLimiter();
  PeakLimiter(const PeakLimiter&) = delete;
  PeakLimiter& operator=(const PeakLimiter&) = delete;
  // Processes `frames` frames in place into `out` (appended): output lags
  // input by latency() frames; flush() returns the rest.
  void process(const float* in, size_t frames, std::vector<float>* out);
  void flush(std::vector<float>* out);
  size_t latency() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::media
