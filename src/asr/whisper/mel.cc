#include "asr/whisper/mel.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <numbers>
#include <string>

#include "core/fftw.h"

namespace sf::asr::whisper {

namespace {

// The Slaney mel scale: linear below 1 kHz, logarithmic above.
constexpr double kFSp = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kFSp;

double log_step() { return std::log(6.4) / 27.0; }

double hz_to_mel(double hz) {
  if (hz < kMinLogHz) return hz / kFSp;
  return kMinLogMel + std::log(hz / kMinLogHz) / log_step();
}

double mel_to_hz(double mel) {
  if (mel < kMinLogMel) return mel * kFSp;
  return kMinLogHz * std::exp(log_step() * (mel - kMinLogMel));
}

using core::fftw_planner_mutex;
using core::FftwBuffer;

// Index into a signal of length n with reflect padding (no edge repeat),
// valid for any offset.
long reflect(long i, long n) {
  if (n == 1) return 0;
  const long period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// The input as the STFT sees it: `audio` followed by `pad` zeros, read
// through centered reflect padding, without materializing the padded copy.
struct Signal {
  std::span<const float> audio;
  long total = 0;  // audio.size() + pad
  float at(long j) const {
    if (j < 0 || j >= total) j = reflect(j, total);
    return j < static_cast<long>(audio.size()) ? audio[static_cast<size_t>(j)] : 0.0f;
  }
};

// Frames are transformed in blocks so that memory stays bounded for long
// inputs (only the output grows with the input's length).
constexpr int kBlockFrames = 1000;

// Mel energies (before the log) of frames [t0, t0 + frames), written to
// out[m * ld + (t - t0)].
void mel_energies(const Signal& signal, int t0, int frames, const std::vector<float>& filters, int n_mels,
                  float* out, size_t ld) {
  FftwBuffer<float> in = core::fftw_alloc<float>(kNFft * static_cast<size_t>(frames));
  FftwBuffer<fftwf_complex> spec = core::fftw_alloc<fftwf_complex>(kNFreq * static_cast<size_t>(frames));

  float window[kNFft];
  for (int i = 0; i < kNFft; ++i) {
    window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / kNFft));
  }
  for (int t = 0; t < frames; ++t) {
    float* dst = in.get() + static_cast<size_t>(t) * kNFft;
    const long start = static_cast<long>(t0 + t) * kHopLength - kNFft / 2;
    for (int i = 0; i < kNFft; ++i) dst[i] = signal.at(start + i) * window[i];
  }

  core::FftwPlan plan;
  {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    int size = kNFft;
    plan.reset(fftwf_plan_many_dft_r2c(1, &size, frames, in.get(), nullptr, 1, kNFft, spec.get(), nullptr, 1,
                                       kNFreq, FFTW_ESTIMATE));
  }
  fftwf_execute(plan.get());
  plan.reset();

  std::vector<float> power(static_cast<size_t>(frames) * kNFreq);
  for (size_t i = 0; i < power.size(); ++i) {
    const float re = spec[i][0];
    const float im = spec[i][1];
    power[i] = re * re + im * im;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n_mels, frames, kNFreq, 1.0f, filters.data(), kNFreq,
              power.data(), kNFreq, 0.0f, out, static_cast<int>(ld));
}

// n_mels x frames log-mel of `signal`, normalized over all of it.
std::vector<float> log_mel(const Signal& signal, int frames, int n_mels) {
  std::vector<float> out(static_cast<size_t>(n_mels) * static_cast<size_t>(frames));
  if (frames == 0) return out;
  const std::vector<float> filters = mel_filters(n_mels);
  for (int t0 = 0; t0 < frames; t0 += kBlockFrames) {
    mel_energies(signal, t0, std::min(kBlockFrames, frames - t0), filters, n_mels, out.data() + t0,
                 static_cast<size_t>(frames));
  }
  float max_value = -1e30f;
  for (float& v : out) {
    v = std::log10(std::max(v, 1e-10f));
    max_value = std::max(max_value, v);
  }
  const float floor_value = max_value - 8.0f;
  for (float& v : out) v = (std::max(v, floor_value) + 4.0f) / 4.0f;
  return out;
}

}  // namespace

std::vector<float> mel_filters(int n_mels) {
  std::vector<float> filters(static_cast<size_t>(n_mels) * kNFreq, 0.0f);
  const double mel_max = hz_to_mel(kMelSampleRate / 2.0);
  std::vector<double> hz(static_cast<size_t>(n_mels) + 2);
  for (int i = 0; i < n_mels + 2; ++i) {
    hz[static_cast<size_t>(i)] = mel_to_hz(mel_max * i / (n_mels + 1));
  }
  for (int m = 0; m < n_mels; ++m) {
    const double lo = hz[static_cast<size_t>(m)];
    const double center = hz[static_cast<size_t>(m) + 1];
    const double hi = hz[static_cast<size_t>(m) + 2];
    const double norm = 2.0 / (hi - lo);
    for (int k = 0; k < kNFreq; ++k) {
      const double f = static_cast<double>(k) * kMelSampleRate / kNFft;
      const double lower = (f - lo) / (center - lo);
      const double upper = (hi - f) / (hi - center);
      const double w = std::max(0.0, std::min(lower, upper));
      filters[static_cast<size_t>(m) * kNFreq + static_cast<size_t>(k)] =
          static_cast<float>(w * norm);
    }
  }
  return filters;
}

Result<std::vector<float>> log_mel_spectrogram(std::span<const float> audio, int n_mels) {
  if (n_mels <= 0) return invalid_argument("log-mel: n_mels must be positive, got " + std::to_string(n_mels));
  const Signal signal{audio.subspan(0, std::min<size_t>(audio.size(), kWindowSamples)), kWindowSamples};
  return log_mel(signal, kWindowFrames, n_mels);
}

Result<Mel> log_mel_spectrogram_long(std::span<const float> audio, int n_mels, int pad_samples) {
  if (n_mels <= 0) return invalid_argument("log-mel: n_mels must be positive, got " + std::to_string(n_mels));
  if (pad_samples < 0) return invalid_argument("log-mel: pad_samples must not be negative");
  const Signal signal{audio, static_cast<long>(audio.size()) + pad_samples};
  Mel mel;
  mel.n_mels = n_mels;
  mel.n_frames = static_cast<int>(signal.total / kHopLength);
  if (signal.total == 0) return mel;
  mel.data = log_mel(signal, mel.n_frames, n_mels);
  return mel;
}

std::vector<float> mel_window(const Mel& mel, int offset) {
  std::vector<float> out(static_cast<size_t>(mel.n_mels) * kWindowFrames, 0.0f);
  const int count = std::clamp(mel.n_frames - offset, 0, kWindowFrames);
  for (int m = 0; m < mel.n_mels; ++m) {
    const float* src = mel.data.data() + static_cast<size_t>(m) * static_cast<size_t>(mel.n_frames) +
                       static_cast<size_t>(offset);
    std::copy_n(src, count, out.begin() + static_cast<long>(m) * kWindowFrames);
  }
  return out;
}

}  // namespace sf::asr::whisper
