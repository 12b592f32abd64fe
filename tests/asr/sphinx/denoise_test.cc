#include "asr/sphinx/denoise.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace sf::asr::sphinx {
namespace {

constexpr int kRate = 16000;

// Pink-ish noise (white noise through a one-pole low-pass), fixed seed.
std::vector<float> noise(size_t n, float level, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  float y = 0;
  for (auto& v : x) {
    y = 0.95f * y + 0.05f * g(rng);
    v = y;
  }
  double p = 0;
  for (float v : x) p += v * v;
  const float scale = level / static_cast<float>(std::sqrt(p / n));
  for (auto& v : x) v *= scale;
  return x;
}

// Bursts of a 440 Hz + 1200 Hz "voice" (0.5 s on, 0.5 s off).
std::vector<float> bursts(double seconds, float level) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < x.size(); ++i) {
    const double t = static_cast<double>(i) / kRate;
    if (std::fmod(t, 1.0) < 0.5) {
      x[i] = level * static_cast<float>(std::sin(2 * std::numbers::pi * 440 * t) +
                                        0.5 * std::sin(2 * std::numbers::pi * 1200 * t));
    }
  }
  return x;
}

double power(const std::vector<float>& x, size_t from, size_t to) {
  double p = 0;
  for (size_t i = from; i < to; ++i) p += static_cast<double>(x[i]) * x[i];
  return p / static_cast<double>(to - from);
}

TEST(SphinxDenoise, CleanAudioIsLeftExactlyAsItIs) {
  auto x = bursts(4, 0.3f);
  auto hum = noise(x.size(), 1e-4f, 1);  // 60+ dB below the bursts
  for (size_t i = 0; i < x.size(); ++i) x[i] += hum[i];
  EXPECT_GT(estimate_snr_db(x), 40);
  EXPECT_EQ(denoise(x), x);
  // Digital silence between phrases: no noise to estimate at all.
  auto silent_gaps = bursts(4, 0.3f);
  EXPECT_TRUE(std::isinf(estimate_snr_db(silent_gaps)));
  EXPECT_EQ(denoise(silent_gaps), silent_gaps);
}

TEST(SphinxDenoise, SteadyNoiseDropsWhileTheSignalStays) {
  const auto clean = bursts(6, 0.2f);
  const auto n = noise(clean.size(), 0.05f, 7);
  std::vector<float> noisy(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) noisy[i] = clean[i] + n[i];
  const double snr = estimate_snr_db(noisy);
  EXPECT_GT(snr, 5);
  EXPECT_LT(snr, 25);
  const auto out = denoise(noisy);
  ASSERT_EQ(out.size(), noisy.size());
  // A gap (noise only), away from the bursts' edges: at least 8 dB quieter
  // (the a-priori SNR's smoothing of 0.95 leaves more of the noise than
  // 0.98 did, and the recognizer finds more words through it).
  const size_t g0 = static_cast<size_t>(2.6 * kRate), g1 = static_cast<size_t>(2.9 * kRate);
  EXPECT_LT(10 * std::log10(power(out, g0, g1) / power(noisy, g0, g1)), -8);
  // Inside a burst the output stays close to the clean signal: its error is
  // well below the noise that was there.
  const size_t b0 = static_cast<size_t>(3.1 * kRate), b1 = static_cast<size_t>(3.4 * kRate);
  std::vector<float> err(out.size());
  for (size_t i = 0; i < out.size(); ++i) err[i] = out[i] - clean[i];
  EXPECT_LT(power(err, b0, b1), 0.5 * power(n, b0, b1));
  EXPECT_GT(power(out, b0, b1), 0.8 * power(clean, b0, b1));
}

// Noise whose level comes and goes like a crowd's: the steady noise of
// noise() under an envelope that changes every 120 ms between 0 and
// -20 dB.
std::vector<float> fluctuating(size_t n, float level, unsigned seed) {
  auto x = noise(n, level, seed);
  std::mt19937 rng(seed + 100);
  std::uniform_real_distribution<float> db(-20.0f, 0.0f);
  const size_t step = kRate * 12 / 100;
  for (size_t at = 0; at < n; at += step) {
    const float gain = std::pow(10.0f, db(rng) / 20.0f);
    for (size_t i = at; i < std::min(n, at + step); ++i) x[i] *= gain;
  }
  return x;
}

TEST(SphinxDenoise, NoiseThatComesAndGoesIsLeftAlone) {
  const auto clean = bursts(6, 0.2f);
  const auto steady = noise(clean.size(), 0.05f, 7);
  const auto crowd = fluctuating(clean.size(), 0.1f, 7);
  std::vector<float> under_steady(clean.size()), under_crowd(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) {
    under_steady[i] = clean[i] + steady[i];
    under_crowd[i] = clean[i] + crowd[i];
  }
  EXPECT_LT(noise_spread_db(under_steady), 2.5);
  EXPECT_GT(noise_spread_db(under_crowd), 4.0);
  // Both are noisy enough to denoise by their SNR; only the steady one is.
  EXPECT_LT(estimate_snr_db(under_crowd), 25);
  EXPECT_NE(denoise(under_steady), under_steady);
  EXPECT_EQ(denoise(under_crowd), under_crowd);
  // The limit is an option: a looser one lets the crowd be denoised too.
  DenoiseOptions loose;
  loose.steady_spread_db = 20;
  EXPECT_NE(denoise(under_crowd, loose), under_crowd);
}

TEST(SphinxDenoise, NoiseLevelsAreTheSnrAndTheSpreadFromOneAnalysis) {
  const auto clean = bursts(6, 0.2f);
  const auto crowd = fluctuating(clean.size(), 0.1f, 7);
  std::vector<float> under_crowd(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) under_crowd[i] = clean[i] + crowd[i];
  for (const std::vector<float>* audio : std::vector<const std::vector<float>*>{&clean, &under_crowd}) {
    const NoiseLevels n = noise_levels(*audio);
    EXPECT_EQ(n.snr_db, estimate_snr_db(*audio));
    EXPECT_EQ(n.spread_db, noise_spread_db(*audio));
    // denoise() reports the levels of the analysis it makes.
    NoiseLevels reported;
    (void)denoise(*audio, {}, &reported);
    EXPECT_EQ(reported.snr_db, n.snr_db);
    EXPECT_EQ(reported.spread_db, n.spread_db);
  }
  EXPECT_GT(noise_levels(under_crowd).spread_db, 4.0);
  // Shorter than a frame: no estimate (as clean), no spread.
  std::vector<float> tiny = {0.1f, -0.2f, 0.3f};
  EXPECT_TRUE(std::isinf(noise_levels(tiny).snr_db));
  EXPECT_EQ(noise_levels(tiny).spread_db, 0);
}

TEST(SphinxDenoise, OutputIsAFunctionOfTheInputAlone) {
  const auto clean = bursts(3, 0.2f);
  const auto n = noise(clean.size(), 0.05f, 3);
  std::vector<float> noisy(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) noisy[i] = clean[i] + n[i];
  const auto first = denoise(noisy);
  (void)denoise(bursts(2, 0.5f));  // another segment in between changes nothing
  EXPECT_EQ(denoise(noisy), first);
}

TEST(SphinxDenoise, ShortAndEmptyAudioPassThrough) {
  EXPECT_TRUE(denoise({}).empty());
  std::vector<float> tiny = {0.1f, -0.2f, 0.3f};
  EXPECT_EQ(denoise(tiny), tiny);
}

}  // namespace
}  // namespace sf::asr::sphinx
