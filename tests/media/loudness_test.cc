// The loudness meter against the EBU's own test signals (Tech 3341/3342
// cases built here as sines), the limiter's guarantee, and the gain plan.
#include "media/loudness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace sf::media {
namespace {

// `seconds` of a sine at `freq` Hz, peak `dbfs`, on every channel.
std::vector<float> sine(int rate, int channels, double freq, double dbfs, double seconds, double phase = 0) {
  const double amp = std::pow(10.0, dbfs / 20);
  const auto n = static_cast<size_t>(seconds * rate);
  std::vector<float> out(n * static_cast<size_t>(channels));
  for (size_t i = 0; i < n; ++i) {
    const auto v = static_cast<float>(amp * std::sin(2 * std::numbers::pi * freq * static_cast<double>(i) / rate + phase));
    for (int c = 0; c < channels; ++c) out[i * static_cast<size_t>(channels) + static_cast<size_t>(c)] = v;
  }
  return out;
}

Loudness measure(int rate, int channels, const std::vector<float>& s) {
  LoudnessMeter m(rate, std::vector<double>(static_cast<size_t>(channels), 1.0));
  m.add(s.data(), s.size() / static_cast<size_t>(channels));
  return m.result();
}

TEST(LoudnessMeter, StereoSineAtMinus23ReadsMinus23) {
  for (int rate : {44100, 48000, 96000}) {
    Loudness l = measure(rate, 2, sine(rate, 2, 1000, -23, 20));
    EXPECT_NEAR(l.integrated, -23.0, 0.1) << rate;
    EXPECT_NEAR(l.sample_peak, -23.0, 0.05) << rate;
  }
}

TEST(LoudnessMeter, MonoCountsOneChannel) {
  // One channel carries half the power of the same sine on two.
  Loudness l = measure(48000, 1, sine(48000, 1, 1000, -20, 10));
  EXPECT_NEAR(l.integrated, -23.01, 0.1);
}

TEST(LoudnessMeter, SilenceIsGatedOut) {
  std::vector<float> s = sine(48000, 2, 1000, -23, 10);
  s.resize(s.size() * 3, 0.0f);  // 20 s of silence after
  EXPECT_NEAR(measure(48000, 2, s).integrated, -23.0, 0.1);
  Loudness silent = measure(48000, 2, std::vector<float>(48000 * 2 * 5, 0.0f));
  EXPECT_FALSE(silent.measurable());
  Loudness tiny = measure(48000, 2, sine(48000, 2, 1000, -23, 0.3));
  EXPECT_FALSE(tiny.measurable());  // shorter than one 400 ms block
}

TEST(LoudnessMeter, RelativeGateDropsTheQuietPart) {
  // Tech 3341 case 3-like: 10 s at -36, 60 s at -23, 10 s at -36 -> -23.
  std::vector<float> s = sine(48000, 2, 1000, -36, 10);
  auto mid = sine(48000, 2, 1000, -23, 60);
  auto end = sine(48000, 2, 1000, -36, 10);
  s.insert(s.end(), mid.begin(), mid.end());
  s.insert(s.end(), end.begin(), end.end());
  EXPECT_NEAR(measure(48000, 2, s).integrated, -23.0, 0.1);
}

TEST(LoudnessMeter, RangeOfTwoLevels) {
  // Tech 3342 case 1: 20 s at -20 then 20 s at -30 -> LRA 10 LU (+-1).
  std::vector<float> s = sine(48000, 2, 1000, -20, 20);
  auto b = sine(48000, 2, 1000, -30, 20);
  s.insert(s.end(), b.begin(), b.end());
  EXPECT_NEAR(measure(48000, 2, s).range, 10.0, 1.0);
  EXPECT_NEAR(measure(48000, 2, sine(48000, 2, 1000, -20, 20)).range, 0.0, 0.1);
}

TEST(LoudnessMeter, TruePeakSeesBetweenSamples) {
  // A sine at a quarter of the rate, sampled 45 degrees off its crests:
  // samples reach -3 dB of the peak, the true peak is the peak.
  Loudness l = measure(48000, 1, sine(48000, 1, 12000, -6, 2, std::numbers::pi / 4));
  EXPECT_NEAR(l.sample_peak, -9.01, 0.05);
  EXPECT_NEAR(l.true_peak, -6.0, 0.3);
}

TEST(LoudnessMeter, WeightsFromTheLayout) {
  const unsigned long long five_one = 0x3F;  // FL FR FC LFE BL BR
  EXPECT_EQ(channel_weights(6, five_one), (std::vector<double>{1, 1, 1, 0, 1.41, 1.41}));
  EXPECT_EQ(channel_weights(2, 0x3), (std::vector<double>{1, 1}));
  EXPECT_EQ(channel_weights(6, 0), (std::vector<double>{1, 1, 1, 0, 1.41, 1.41}));
}

TEST(PeakLimiter, NoSampleOverTheCeilingAndNothingLost) {
  const int rate = 48000;
  std::vector<float> in = sine(rate, 2, 440, -20, 1.0);
  // A loud burst in the middle, 4x over the ceiling.
  for (size_t i = 2 * 20000; i < 2 * 22000; ++i) in[i] *= 40.0f;
  const double ceiling = std::pow(10.0, -1.0 / 20);
  PeakLimiter lim(rate, 2, ceiling);
  std::vector<float> out;
  for (size_t off = 0; off < in.size(); off += 2 * 1000) {
    lim.process(in.data() + off, std::min<size_t>(1000, (in.size() - off) / 2), &out);
  }
  lim.flush(&out);
  ASSERT_EQ(out.size(), in.size() + 2 * lim.latency());
  float peak = 0;
  for (float v : out) peak = std::max(peak, std::fabs(v));
  EXPECT_LE(peak, ceiling + 1e-6);
  // Away from the burst the signal passes unchanged, delayed.
  const size_t d = 2 * lim.latency();
  for (size_t i = 2 * 1000; i < 2 * 15000; ++i) ASSERT_FLOAT_EQ(out[i + d], in[i]) << i;
  for (size_t i = 2 * 40000; i < in.size(); ++i) ASSERT_FLOAT_EQ(out[i + d], in[i]) << i;
}

TEST(GainPlan, LinearWhenItFitsLimitedWhenNot) {
  NormalizeOptions o;  // -23 LUFS, -1 dBTP
  Loudness quiet;
  quiet.integrated = -35;
  quiet.true_peak = -18;
  GainPlan p = plan_gain(quiet, o, 1.0);
  EXPECT_DOUBLE_EQ(p.gain_db, 12);
  EXPECT_FALSE(p.limit);
  Loudness peaky = quiet;
  peaky.true_peak = -12;  // +12 dB -> 0 dBTP, over -1 - 1
  p = plan_gain(peaky, o, 1.0);
  EXPECT_TRUE(p.limit);
  EXPECT_DOUBLE_EQ(p.ceiling_db, -2);
  Loudness loud;
  loud.integrated = -10;
  loud.true_peak = 2;
  p = plan_gain(loud, o, 0.2);
  EXPECT_DOUBLE_EQ(p.gain_db, -13);
  EXPECT_FALSE(p.limit);
}

}  // namespace
}  // namespace sf::media

namespace sf::media {
namespace {

TEST(NormalizedExtension, TheSourcesWhereLibavCanWriteItElseMatroska) {
  EXPECT_EQ(normalized_extension("/a/talk.mp4"), ".mp4");
  EXPECT_EQ(normalized_extension("/a/take.MOV"), ".MOV");
  EXPECT_EQ(normalized_extension("/a/radio.wav"), ".wav");
  EXPECT_EQ(normalized_extension("/a/take1"), ".mkv");
  EXPECT_EQ(normalized_extension("/a.dir/take1"), ".mkv");
  EXPECT_EQ(normalized_extension("/a/clip.xyz"), ".mkv");
  EXPECT_EQ(normalized_extension("/a/clip."), ".mkv");
}

}  // namespace
}  // namespace sf::media
