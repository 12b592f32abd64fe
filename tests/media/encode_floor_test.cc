#include "media/encode_floor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "media/probe.h"

namespace sf::media {
namespace {

namespace fs = std::filesystem;

class EncodeFloorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sf-encode-floor-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(EncodeFloorTest, WritesExactlyTheRequestedFramesWithMatchingAudio) {
  EncodeFloorOptions o;
  o.frames = 37;
  o.width = 320;
  o.height = 240;
  o.fps = 25;
  o.cpu_only = true;
  const std::string out = (dir_ / "floor.mp4").string();
  auto r = encode_floor(o, out);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->frames, 37);
  EXPECT_GT(r->seconds, 0);
  EXPECT_NEAR(r->fps_encoded, 37 / r->seconds, 1e-6);
  EXPECT_FALSE(r->encoder.empty());

  auto info = probe(out);
  ASSERT_TRUE(info.ok()) << info.status().message();
  const StreamInfo* v = info->video();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->codec, "h264");
  EXPECT_EQ(v->width, 320);
  EXPECT_EQ(v->height, 240);
  EXPECT_NEAR(v->fps, 25, 0.01);
  EXPECT_NEAR(v->duration, 37 / 25.0, 1 / 25.0 + 1e-6);
  const StreamInfo* a = info->audio();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->codec, "aac");
  EXPECT_EQ(a->sample_rate, 48000);
  EXPECT_EQ(a->channels, 2);
  // Audio covers the video's length to within one AAC frame.
  EXPECT_NEAR(a->duration, 37 / 25.0, 1024.0 / 48000 + 1 / 25.0);
}

TEST_F(EncodeFloorTest, VideoOnlyWhenAudioIsOff) {
  EncodeFloorOptions o;
  o.frames = 5;
  o.width = 64;
  o.height = 48;
  o.fps = 30;
  o.audio = false;
  const std::string out = (dir_ / "video-only.mp4").string();
  auto r = encode_floor(o, out);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto info = probe(out);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_NE(info->video(), nullptr);
  EXPECT_EQ(info->audio(), nullptr);
}

TEST_F(EncodeFloorTest, RejectsBadSettingsWithoutWritingAnything) {
  const std::string out = (dir_ / "bad.mp4").string();
  EncodeFloorOptions o;
  o.width = 320;
  o.height = 240;
  o.fps = 25;
  o.frames = 0;
  EXPECT_EQ(encode_floor(o, out).status().code(), Code::kInvalidArgument);
  o.frames = 10;
  o.width = 321;
  EXPECT_EQ(encode_floor(o, out).status().code(), Code::kInvalidArgument);
  o.width = 320;
  o.fps = 0;
  EXPECT_EQ(encode_floor(o, out).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(EncodeFloorTest, UnknownForcedEncoderIsRejected) {
  EncodeFloorOptions o;
  o.frames = 3;
  o.width = 64;
  o.height = 48;
  o.fps = 25;
  o.encoder = "no_such_encoder";
  auto r = encode_floor(o, (dir_ / "x.mp4").string());
  ASSERT_FALSE(r.ok());
  // The ladder knows no such name: a usage error, named in the message.
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("no_such_encoder"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.mp4"));
}

}  // namespace
}  // namespace sf::media
