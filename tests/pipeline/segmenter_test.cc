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
    pos += static_cast<int64_t>(s.samples.size());
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
