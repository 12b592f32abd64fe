#include "asr/whisper/mel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace sf::asr::whisper {
namespace {

// The Slaney mel scale, written independently of the library's code.
double slaney_mel_to_hz(double mel) {
  const double f_sp = 200.0 / 3.0;
  if (mel < 15.0) return mel * f_sp;
  return 1000.0 * std::pow(6.4, (mel - 15.0) / 27.0);
}
double slaney_hz_to_mel(double hz) {
  const double f_sp = 200.0 / 3.0;
  if (hz < 1000.0) return hz / f_sp;
  return 15.0 + 27.0 * std::log(hz / 1000.0) / std::log(6.4);
}

std::vector<float> sine(double hz, int samples, double amplitude = 0.5) {
  std::vector<float> x(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    x[static_cast<size_t>(i)] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * i / 16000.0));
  }
  return x;
}

TEST(MelFilters, PeaksAtSlaneyCentersAndSpanZeroToNyquist) {
  for (int n_mels : {80, 128}) {
    const std::vector<float> f = mel_filters(n_mels);
    ASSERT_EQ(f.size(), static_cast<size_t>(n_mels) * kNFreq);
    const double top = slaney_hz_to_mel(8000.0);
    for (int m = 0; m < n_mels; ++m) {
      const float* row = f.data() + static_cast<size_t>(m) * kNFreq;
      for (int k = 0; k < kNFreq; ++k) ASSERT_GE(row[k], 0.0f);
      const int peak = static_cast<int>(std::max_element(row, row + kNFreq) - row);
      const double center = slaney_mel_to_hz(top * (m + 1) / (n_mels + 1));
      // The peak is the FFT bin (40 Hz apart) nearest the center, or its
      // neighbour when the center falls between two bins.
      EXPECT_LE(std::abs(peak * 40.0 - center), 40.0) << "filter " << m << " of " << n_mels;
      // No weight outside the triangle's edges.
      const double lo = slaney_mel_to_hz(top * m / (n_mels + 1));
      const double hi = slaney_mel_to_hz(top * (m + 2) / (n_mels + 1));
      for (int k = 0; k < kNFreq; ++k) {
        if (k * 40.0 <= lo || k * 40.0 >= hi) {
          EXPECT_EQ(row[k], 0.0f) << "filter " << m << " bin " << k;
        }
      }
    }
  }
}

TEST(MelFilters, SlaneyNormalizedToUnitArea) {
  // Each triangle has height 2 / (hi - lo), so its area over Hz is 1; the
  // 40-Hz bin sampling approximates it well once triangles are several bins
  // wide (the upper filters).
  const std::vector<float> f = mel_filters(80);
  const double top = slaney_hz_to_mel(8000.0);
  for (int m = 0; m < 80; ++m) {
    const double lo = slaney_mel_to_hz(top * m / 81);
    const double hi = slaney_mel_to_hz(top * (m + 2) / 81);
    double area = 0;
    float peak = 0;
    for (int k = 0; k < kNFreq; ++k) {
      const float v = f[static_cast<size_t>(m) * kNFreq + static_cast<size_t>(k)];
      area += v * 40.0;
      peak = std::max(peak, v);
    }
    EXPECT_LE(peak, 2.0 / (hi - lo) * (1 + 1e-5)) << "filter " << m;
    if (hi - lo > 400) {
      EXPECT_NEAR(area, 1.0, 0.02) << "filter " << m;
    }
  }
}

TEST(LogMel, WindowShapeAndRange) {
  auto mel = log_mel_spectrogram(sine(440, 16000 * 5), 80);
  ASSERT_TRUE(mel.ok()) << mel.status().to_string();
  ASSERT_EQ(mel->size(), 80u * kWindowFrames);
  const float mx = *std::max_element(mel->begin(), mel->end());
  const float mn = *std::min_element(mel->begin(), mel->end());
  // The floor is 8 below the max in log10 units, i.e. 2 after (x + 4) / 4.
  EXPECT_NEAR(mx - mn, 2.0f, 1e-5f);
}

TEST(LogMel, SilenceIsFlat) {
  std::vector<float> zeros(16000, 0.0f);
  auto mel = log_mel_spectrogram(zeros, 80);
  ASSERT_TRUE(mel.ok());
  for (float v : *mel) ASSERT_FLOAT_EQ(v, (-10.0f + 4.0f) / 4.0f);
}

TEST(LogMel, SineEnergyInTheRightMelBin) {
  const std::vector<float> f = mel_filters(80);
  for (double hz : {320.0, 1000.0, 2520.0, 6000.0}) {
    auto mel = log_mel_spectrogram(sine(hz, 16000 * 30), 80);
    ASSERT_TRUE(mel.ok());
    // Mean over the middle frames per mel bin.
    int best = -1;
    double best_value = -1e9;
    for (int m = 0; m < 80; ++m) {
      double sum = 0;
      for (int t = 100; t < 2900; ++t) sum += (*mel)[static_cast<size_t>(m) * kWindowFrames + static_cast<size_t>(t)];
      if (sum > best_value) {
        best_value = sum;
        best = m;
      }
    }
    // The filter that weighs the sine's FFT bin most.
    const int bin = static_cast<int>(std::lround(hz / 40.0));
    int expect = 0;
    for (int m = 1; m < 80; ++m) {
      if (f[static_cast<size_t>(m) * kNFreq + static_cast<size_t>(bin)] >
          f[static_cast<size_t>(expect) * kNFreq + static_cast<size_t>(bin)]) {
        expect = m;
      }
    }
    EXPECT_EQ(best, expect) << hz << " Hz";
  }
}

TEST(LogMel, MatchesDirectDftAtEdgesAndMiddle) {
  // An independent STFT: reflect padding, periodic Hann, naive DFT in
  // double, at a few frames including both edges.
  std::vector<float> audio(kWindowSamples);
  for (size_t i = 0; i < audio.size(); ++i) {
    const double t = static_cast<double>(i) / 16000.0;
    audio[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * (200 + 50 * t) * t) +
                                  0.1 * std::sin(2 * std::numbers::pi * 3100 * t + 0.3));
  }
  auto mel = log_mel_spectrogram(audio, 80);
  ASSERT_TRUE(mel.ok());
  const std::vector<float> f = mel_filters(80);
  const long n = static_cast<long>(audio.size());
  const double floor_value = *std::max_element(mel->begin(), mel->end()) * 4.0 - 4.0 - 8.0;
  for (int frame : {0, 1, 1500, 2999}) {
    std::vector<double> x(kNFft);
    for (int i = 0; i < kNFft; ++i) {
      long j = static_cast<long>(frame) * kHopLength - kNFft / 2 + i;
      if (j < 0) j = -j;
      if (j >= n) j = 2 * (n - 1) - j;
      x[static_cast<size_t>(i)] = audio[static_cast<size_t>(j)] * (0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / kNFft));
    }
    std::vector<double> power(kNFreq);
    for (int k = 0; k < kNFreq; ++k) {
      std::complex<double> acc = 0;
      for (int i = 0; i < kNFft; ++i) acc += x[static_cast<size_t>(i)] * std::polar(1.0, -2 * std::numbers::pi * k * i / kNFft);
      power[static_cast<size_t>(k)] = std::norm(acc);
    }
    for (int m = 0; m < 80; ++m) {
      double e = 0;
      for (int k = 0; k < kNFreq; ++k) e += f[static_cast<size_t>(m) * kNFreq + static_cast<size_t>(k)] * power[static_cast<size_t>(k)];
      const double expect = std::log10(std::max(e, 1e-10));
      const double got = (*mel)[static_cast<size_t>(m) * kWindowFrames + static_cast<size_t>(frame)] * 4.0 - 4.0;
      // Values at the floor (max - 8) were clipped; compare the others.
      if (expect > floor_value + 0.01) {
        EXPECT_NEAR(got, expect, 2e-4 * std::max(1.0, std::abs(expect))) << "frame " << frame << " mel " << m;
      } else {
        EXPECT_NEAR(got, floor_value, 0.011) << "frame " << frame << " mel " << m;
      }
    }
  }
}

TEST(LogMel, LongFormFrameCountsAndWindows) {
  const std::vector<float> audio = sine(700, 16000 * 45 + 123);
  auto plain = log_mel_spectrogram_long(audio, 80, 0);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->n_frames, static_cast<int>(audio.size() / kHopLength));
  auto padded = log_mel_spectrogram_long(audio, 80);
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->n_frames, static_cast<int>((audio.size() + kWindowSamples) / kHopLength));
  ASSERT_EQ(padded->data.size(), 80u * static_cast<size_t>(padded->n_frames));

  // A window past the end is zero-filled in log-mel space.
  const int offset = padded->n_frames - 1000;
  const std::vector<float> w = mel_window(*padded, offset);
  ASSERT_EQ(w.size(), 80u * kWindowFrames);
  for (int m = 0; m < 80; ++m) {
    for (int t = 0; t < kWindowFrames; ++t) {
      const float v = w[static_cast<size_t>(m) * kWindowFrames + static_cast<size_t>(t)];
      if (t < 1000) {
        ASSERT_EQ(v, padded->data[static_cast<size_t>(m) * static_cast<size_t>(padded->n_frames) + static_cast<size_t>(offset + t)]);
      } else {
        ASSERT_EQ(v, 0.0f);
      }
    }
  }
}

TEST(LogMel, RejectsBadArguments) {
  std::vector<float> audio(100, 0.0f);
  EXPECT_EQ(log_mel_spectrogram(audio, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(log_mel_spectrogram_long(audio, 80, -1).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sf::asr::whisper
