#include "pipeline/segmenter.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sf::pipeline {
namespace {

constexpr int kRate = 16000;

// Tone bursts of `on` seconds separated by `off` seconds of silence.
std::vector<float> bursts(int n, double on, double off) {
  std::vector<float> v;
  for (int b = 0; b < n; ++b) {
    for (int i = 0; i < static_cast<int>(on * kRate); ++i) v.push_back(0.3f * std::sin(0.2f * static_cast<float>(i)));
    v.insert(v.end(), static_cast<size_t>(off * kRate), 0.0f);
  }
  return v;
}

std::vector<AudioSegment> run(const std::vector<float>& audio, SegmenterOptions opt, size_t block = 4000) {
  std::vector<AudioSegment> segs;
  Segmenter s(opt, [&](AudioSegment a) { segs.push_back(std::move(a)); });
  for (size_t i = 0; i < audio.size(); i += block) {
    s.push(std::span<const float>(audio.data() + i, std::min(block, audio.size() - i)));
  }
  s.finish();
  return segs;
}

TEST(Segmenter, CutsInsidePausesAndKeepsEverySample) {
  auto audio = bursts(10, 3.0, 0.6);  // 36 s
  auto segs = run(audio, {});
  ASSERT_GE(segs.size(), 3u);
  int64_t pos = 0;
  for (const auto& s : segs) {
    EXPECT_EQ(s.first_sample, pos);  // contiguous, nothing lost
    EXPECT_EQ(static_cast<int64_t>(s.samples.size()), s.length);
    pos += s.length;
    EXPECT_LE(s.samples.size(), 30u * kRate);
    // Every cut falls in silence: both sides of the boundary are quiet.
    if (static_cast<size_t>(pos) < audio.size()) {
      EXPECT_EQ(audio[static_cast<size_t>(pos)], 0.0f) << "cut at " << pos / double(kRate);
      EXPECT_EQ(audio[static_cast<size_t>(pos - 1)], 0.0f);
    }
  }
  EXPECT_EQ(static_cast<size_t>(pos), audio.size());
}

TEST(Segmenter, RespectsMinimumLength) {
  auto segs = run(bursts(12, 1.0, 0.5), {.min_length = 4.0});
  for (size_t i = 0; i + 1 < segs.size(); ++i) EXPECT_GE(segs[i].samples.size(), 4u * kRate);
}

TEST(Segmenter, ForcesCutAtMaxLengthWithoutPauses) {
  std::vector<float> audio(static_cast<size_t>(75.0 * kRate));
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = 0.3f * std::sin(0.05f * static_cast<float>(i));
  auto segs = run(audio, {.max_length = 30.0});
  ASSERT_GE(segs.size(), 3u);
  size_t total = 0;
  for (const auto& s : segs) {
    EXPECT_LE(s.samples.size(), 30u * kRate);
    total += s.samples.size();
  }
  EXPECT_EQ(total, audio.size());
}

TEST(Segmenter, MarksSilentSegments) {
  std::vector<float> audio(static_cast<size_t>(40.0 * kRate), 0.0f);
  auto tone = bursts(3, 2.0, 0.5);
  audio.insert(audio.end(), tone.begin(), tone.end());
  auto segs = run(audio, {});
  ASSERT_GE(segs.size(), 2u);
  EXPECT_TRUE(segs.front().silent);
  EXPECT_FALSE(segs.back().silent);
  // Digital silence carries no samples and no sound, only its extent.
  EXPECT_TRUE(segs.front().samples.empty());
  EXPECT_GT(segs.front().length, 0);
  EXPECT_EQ(segs.front().sound_end, segs.front().sound_begin);
  int64_t total = 0;
  for (const auto& s : segs) total += s.length;
  EXPECT_EQ(static_cast<size_t>(total), audio.size());
}

TEST(Segmenter, SoundPartMatchesSoundBoundsOfTheSegment) {
  // Bursts at several levels over a noise floor, cut in odd blocks.
  std::vector<float> audio;
  uint32_t seed = 1;
  for (int b = 0; b < 14; ++b) {
    const float amp = 0.05f + 0.05f * static_cast<float>(b % 4);
    for (int i = 0; i < static_cast<int>((1.0 + 0.3 * (b % 3)) * kRate); ++i) {
      audio.push_back(amp * std::sin(0.2f * static_cast<float>(i)));
    }
    for (int i = 0; i < static_cast<int>((0.2 + 0.25 * (b % 5)) * kRate); ++i) {
      seed = seed * 1664525u + 1013904223u;
      audio.push_back(0.002f * (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f));
    }
  }
  auto segs = run(audio, {.min_length = 2.0, .max_length = 6.0}, 1234);
  ASSERT_GE(segs.size(), 3u);
  for (const auto& s : segs) {
    ASSERT_FALSE(s.silent);
    auto [b, e] = sound_bounds(s.samples, kRate);
    EXPECT_EQ(s.sound_begin, b) << "segment at " << s.first_sample;
    EXPECT_EQ(s.sound_end, e) << "segment at " << s.first_sample;
    EXPECT_LT(s.sound_begin, s.sound_end);
  }
}

TEST(Segmenter, HoursOfSilenceGoThroughInBoundedSegments) {
  std::vector<AudioSegment> segs;
  Segmenter s({}, [&](AudioSegment a) { segs.push_back(std::move(a)); });
  std::vector<float> block(kRate, 0.0f);
  for (int i = 0; i < 3600; ++i) s.push(block);
  auto tone = bursts(1, 1.0, 0.0);
  s.push(tone);
  s.finish();
  int64_t pos = 0;
  for (const auto& a : segs) {
    EXPECT_EQ(a.first_sample, pos);
    EXPECT_LE(a.length, 30 * kRate);
    pos += a.length;
  }
  EXPECT_EQ(pos, 3601 * kRate);
  ASSERT_FALSE(segs.back().silent);
  // The tone's sound part is where it is: at 3600 s.
  EXPECT_NEAR(static_cast<double>(segs.back().first_sample + static_cast<int64_t>(segs.back().sound_begin)) / kRate,
              3600.0 - 0.2, 0.02);
}

}  // namespace
}  // namespace sf::pipeline

namespace sf::pipeline {
namespace {

TEST(SoundBounds, TrimsQuietEdgesWithMargin) {
  std::vector<float> v(static_cast<size_t>(3 * kRate), 0.0f);
  for (size_t i = kRate; i < 2u * kRate; ++i) v[i] = 0.3f * std::sin(0.1f * static_cast<float>(i));
  auto [b, e] = sound_bounds(v, kRate);
  EXPECT_NEAR(static_cast<double>(b) / kRate, 0.8, 0.02);
  EXPECT_NEAR(static_cast<double>(e) / kRate, 2.2, 0.02);
  std::vector<float> quiet(static_cast<size_t>(kRate), 0.0f);
  auto [qb, qe] = sound_bounds(quiet, kRate);
  EXPECT_EQ(qb, qe);
}

}  // namespace
}  // namespace sf::pipeline
