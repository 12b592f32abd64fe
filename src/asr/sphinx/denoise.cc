#include "asr/sphinx/denoise.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>

#include "core/fftw.h"

namespace sf::asr::sphinx {
namespace {

constexpr int kFrame = 512;  // 32 ms at 16 kHz
constexpr int kHop = 128;    // 75 % overlap: Hann analysis and synthesis add up flat
constexpr int kBins = kFrame / 2 + 1;

using core::fftw_planner_mutex;
using core::FftwBuffer;
using Plan = core::FftwPlan;

const std::vector<float>& hann() {
  static const std::vector<float> w = [] {
    std::vector<float> v(kFrame);
    for (int i = 0; i < kFrame; ++i) {
      v[i] = static_cast<float>(0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / kFrame));
    }
    return v;
  }();
  return w;
}

// The short-time spectrum of `audio` padded by one frame of zeros at each
// end: frames x kBins, frame f starting at padded sample f * kHop.
struct Spectrum {
  int frames = 0;
  FftwBuffer<float> samples;          // frames x kFrame, windowed
  FftwBuffer<fftwf_complex> bins;     // frames x kBins
  std::vector<double> power;          // frames x kBins, |X|^2
  std::vector<double> energy;         // per frame
};

Spectrum analyse(std::span<const float> audio) {
  Spectrum s;
  const size_t padded = audio.size() + 2 * kFrame;
  s.frames = static_cast<int>((padded - kFrame) / kHop + 1);
  const size_t n = static_cast<size_t>(s.frames);
  s.samples = core::fftw_alloc<float>(kFrame * n);
  s.bins = core::fftw_alloc<fftwf_complex>(kBins * n);
  const auto& w = hann();
  for (int f = 0; f < s.frames; ++f) {
    float* row = s.samples.get() + static_cast<size_t>(f) * kFrame;
    for (int i = 0; i < kFrame; ++i) {
      const int64_t at = static_cast<int64_t>(f) * kHop + i - kFrame;
      row[i] = at >= 0 && at < static_cast<int64_t>(audio.size()) ? audio[at] * w[i] : 0.0f;
    }
  }
  int size = kFrame;
  Plan plan;
  {
    std::lock_guard lock(fftw_planner_mutex());
    plan.reset(fftwf_plan_many_dft_r2c(1, &size, s.frames, s.samples.get(), nullptr, 1, kFrame, s.bins.get(),
                                       nullptr, 1, kBins, FFTW_ESTIMATE));
  }
  fftwf_execute(plan.get());
  s.power.resize(n * kBins);
  s.energy.assign(n, 0.0);
  for (size_t f = 0; f < n; ++f) {
    for (int k = 0; k < kBins; ++k) {
      const fftwf_complex& c = s.bins[f * kBins + k];
      const double p = static_cast<double>(c[0]) * c[0] + static_cast<double>(c[1]) * c[1];
      s.power[f * kBins + k] = p;
      s.energy[f] += p;
    }
  }
  return s;
}

// Frames that lie wholly inside the audio (not touching the padding).
std::pair<int, int> inner_frames(const Spectrum& s) {
  const int first = kFrame / kHop;            // starts at the audio's first sample
  const int last = s.frames - kFrame / kHop;  // one past the last wholly inside
  return {first, std::max(first, last)};
}

struct NoiseEstimate {
  double snr_db = std::numeric_limits<double>::infinity();
  // How far the quietest frames' energies spread: the noise_quantile-th
  // quietest frame over the 1 %-th, in dB.
  double spread_db = 0;
  std::vector<double> spectrum;  // kBins, mean power of the quietest frames
};

NoiseEstimate estimate(const Spectrum& s, const DenoiseOptions& options) {
  NoiseEstimate e;
  auto [first, last] = inner_frames(s);
  const int count = last - first;
  if (count < 2) return e;
  std::vector<int> order(count);
  for (int i = 0; i < count; ++i) order[i] = first + i;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return s.energy[a] != s.energy[b] ? s.energy[a] < s.energy[b] : a < b;
  });
  const int quiet = std::max(1, static_cast<int>(std::lround(count * options.noise_quantile)));
  double noise = 0, loud = 0;
  e.spectrum.assign(kBins, 0.0);
  for (int i = 0; i < quiet; ++i) {
    noise += s.energy[order[i]];
    for (int k = 0; k < kBins; ++k) e.spectrum[k] += s.power[static_cast<size_t>(order[i]) * kBins + k];
  }
  for (auto& p : e.spectrum) p /= quiet;
  noise /= quiet;
  const double lowest = s.energy[order[count / 100]], highest = s.energy[order[quiet - 1]];
  if (lowest > 0 && highest > 0) e.spread_db = 10 * std::log10(highest / lowest);
  for (int i = count / 2; i < count; ++i) loud += s.energy[order[i]];
  loud /= count - count / 2;
  if (noise > 0 && loud > 0) e.snr_db = 10 * std::log10(loud / noise);
  return e;
}

}  // namespace

double estimate_snr_db(std::span<const float> audio, const DenoiseOptions& options) {
  if (audio.size() < static_cast<size_t>(kFrame)) return std::numeric_limits<double>::infinity();
  return estimate(analyse(audio), options).snr_db;
}

double noise_spread_db(std::span<const float> audio, const DenoiseOptions& options) {
  if (audio.size() < static_cast<size_t>(kFrame)) return 0;
  return estimate(analyse(audio), options).spread_db;
}

NoiseLevels noise_levels(std::span<const float> audio, const DenoiseOptions& options) {
  if (audio.size() < static_cast<size_t>(kFrame)) return {std::numeric_limits<double>::infinity(), 0};
  const NoiseEstimate e = estimate(analyse(audio), options);
  return {e.snr_db, e.spread_db};
}

std::vector<float> denoise(std::span<const float> audio, const DenoiseOptions& options, NoiseLevels* levels) {
  std::vector<float> out(audio.begin(), audio.end());
  if (audio.size() < static_cast<size_t>(kFrame)) {
    if (levels != nullptr) *levels = {std::numeric_limits<double>::infinity(), 0};
    return out;
  }
  Spectrum s = analyse(audio);
  const NoiseEstimate noise = estimate(s, options);
  if (levels != nullptr) *levels = {noise.snr_db, noise.spread_db};
  if (!(noise.snr_db < options.clean_snr_db)) return out;
  if (noise.spread_db > options.steady_spread_db) return out;

  // Wiener gain per bin, the a-priori SNR decision-directed (Ephraim-Malah).
  std::vector<double> floor_noise(kBins), previous(kBins, 0.0);
  for (int k = 0; k < kBins; ++k) floor_noise[k] = std::max(noise.spectrum[k], 1e-20);
  const double a = options.smoothing;
  for (int f = 0; f < s.frames; ++f) {
    for (int k = 0; k < kBins; ++k) {
      const size_t at = static_cast<size_t>(f) * kBins + k;
      const double post = s.power[at] / floor_noise[k];
      const double prior = a * previous[k] / floor_noise[k] + (1 - a) * std::max(post - 1, 0.0);
      const double gain = std::max(prior / (1 + prior), static_cast<double>(options.gain_floor));
      previous[k] = gain * gain * s.power[at];
      s.bins[at][0] = static_cast<float>(s.bins[at][0] * gain);
      s.bins[at][1] = static_cast<float>(s.bins[at][1] * gain);
    }
  }

  int size = kFrame;
  Plan plan;
  {
    std::lock_guard lock(fftw_planner_mutex());
    plan.reset(fftwf_plan_many_dft_c2r(1, &size, s.frames, s.bins.get(), nullptr, 1, kBins, s.samples.get(),
                                       nullptr, 1, kFrame, FFTW_ESTIMATE));
  }
  fftwf_execute(plan.get());

  // Overlap-add with the same window, normalized by the summed squared
  // window (and FFTW's unnormalized inverse).
  const auto& w = hann();
  const size_t padded = audio.size() + 2 * kFrame;
  std::vector<double> sum(padded, 0.0), weight(padded, 0.0);
  for (int f = 0; f < s.frames; ++f) {
    const float* row = s.samples.get() + static_cast<size_t>(f) * kFrame;
    const size_t start = static_cast<size_t>(f) * kHop;
    for (int i = 0; i < kFrame; ++i) {
      sum[start + i] += static_cast<double>(row[i]) / kFrame * w[i];
      weight[start + i] += static_cast<double>(w[i]) * w[i];
    }
  }
  for (size_t i = 0; i < audio.size(); ++i) {
    const size_t at = i + kFrame;
    out[i] = weight[at] > 1e-9 ? static_cast<float>(sum[at] / weight[at]) : 0.0f;
  }
  return out;
}

}  // namespace sf::asr::sphinx
