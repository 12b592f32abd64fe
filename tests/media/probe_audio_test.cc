#include <gtest/gtest.h>

#include <cmath>

#include "media/audio.h"
#include "media/probe.h"
#include "media_fixture.h"

namespace sf::media {
namespace {

using sf::testing::sine;
using sf::testing::temp_dir;
using sf::testing::write_wav;

class MediaTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("media"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }
  std::filesystem::path dir_;
};

// Frequency from zero crossings.
double frequency(const std::vector<float>& v, int rate) {
  int crossings = 0;
  for (size_t i = 1; i < v.size(); ++i) crossings += (v[i - 1] < 0) != (v[i] < 0);
  return crossings / 2.0 / (static_cast<double>(v.size()) / rate);
}

TEST_F(MediaTest, ProbeReportsAudioStream) {
  write_wav(path("tone.wav"), sine(440, 2.0, 44100), 44100, 2);
  auto info = probe(path("tone.wav"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_NEAR(info->duration, 2.0, 0.01);
  ASSERT_NE(info->audio(), nullptr);
  EXPECT_EQ(info->video(), nullptr);
  EXPECT_EQ(info->audio()->sample_rate, 44100);
  EXPECT_EQ(info->audio()->channels, 2);
  EXPECT_EQ(info->audio()->codec, "pcm_s16le");
}

TEST_F(MediaTest, ProbeReportsVideoStream) {
  ASSERT_TRUE(sf::testing::sh("ffmpeg -v error -f lavfi -i testsrc2=s=320x240:r=30:d=1 -f lavfi -i "
                              "sine=f=300:d=1 -c:v libx264 -c:a aac -shortest " + path("v.mp4")));
  auto info = probe(path("v.mp4"));
  ASSERT_TRUE(info.ok()) << info.status().message();
  ASSERT_NE(info->video(), nullptr);
  EXPECT_EQ(info->video()->codec, "h264");
  EXPECT_EQ(info->video()->width, 320);
  EXPECT_EQ(info->video()->height, 240);
  EXPECT_NEAR(info->video()->fps, 30.0, 1e-6);
  EXPECT_NEAR(info->duration, 1.0, 0.1);
  ASSERT_NE(info->audio(), nullptr);
  EXPECT_EQ(info->audio()->codec, "aac");
}

TEST_F(MediaTest, ProbeErrorsNameThePath) {
  auto missing = probe(path("nope.mp4"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.mp4"), std::string::npos);

  { std::ofstream(path("text.mp4")) << "definitely not a video file\n"; }
  auto text = probe(path("text.mp4"));
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kBadMedia);
  EXPECT_NE(text.status().message().find("text.mp4"), std::string::npos);

  auto dir = probe(dir_.string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Code::kBadMedia);
}

TEST_F(MediaTest, DecodeResamplesToMono16k) {
  write_wav(path("tone.wav"), sine(1000, 3.0, 44100), 44100, 2);
  auto pcm = decode_audio(path("tone.wav"), 16000);
  ASSERT_TRUE(pcm.ok()) << pcm.status().message();
  EXPECT_NEAR(static_cast<double>(pcm->size()), 3.0 * 16000, 64);
  EXPECT_NEAR(frequency(*pcm, 16000), 1000.0, 5.0);
  float peak = 0;
  for (float v : *pcm) peak = std::max(peak, std::fabs(v));
  // Stereo is downmixed as libswresample (and `ffmpeg -ac 1`) does: each
  // channel at -3 dB, so identical channels of 0.5 peak give 0.5 * sqrt(2).
  EXPECT_NEAR(peak, 0.5f * std::sqrt(2.0f), 0.05f);
}

TEST_F(MediaTest, ReaderStreamsInBlocksAndMatchesWholeDecode) {
  std::vector<float> sig = sine(220, 1.0, 16000);
  std::vector<float> tail = sine(880, 1.0, 16000);
  sig.insert(sig.end(), tail.begin(), tail.end());
  write_wav(path("two.wav"), sig, 16000);
  auto whole = decode_audio(path("two.wav"), 16000);
  ASSERT_TRUE(whole.ok());
  auto reader = AudioReader::open(path("two.wav"), 16000);
  ASSERT_TRUE(reader.ok());
  std::vector<float> streamed, block(777);  // odd block size on purpose
  for (;;) {
    auto n = (*reader)->read(block);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    EXPECT_LE(*n, block.size());
    streamed.insert(streamed.end(), block.begin(), block.begin() + static_cast<long>(*n));
  }
  ASSERT_EQ(streamed.size(), whole->size());
  EXPECT_EQ(streamed, *whole);
  // Time is preserved: the second half is the high tone.
  std::vector<float> second(streamed.begin() + 16000 + 800, streamed.end() - 800);
  EXPECT_NEAR(frequency(second, 16000), 880.0, 10.0);
}

TEST_F(MediaTest, ReaderRejectsVideoWithoutAudio) {
  ASSERT_TRUE(sf::testing::sh("ffmpeg -v error -f lavfi -i testsrc2=s=160x120:d=1 -c:v libx264 " +
                              path("silent.mp4")));
  auto r = AudioReader::open(path("silent.mp4"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadMedia);
  EXPECT_NE(r.status().message().find("no audio stream"), std::string::npos);
}

}  // namespace
}  // namespace sf::media
