#include "media/render.h"

#include <gtest/gtest.h>

#include <cmath>

#include "media/audio.h"
#include "media/probe.h"
#include "media_fixture.h"

namespace sf::media {
namespace {

using sf::testing::sh;
using sf::testing::temp_dir;

class RenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("render");
    // 10 s, 25 fps, keyframe every 5 s; a 440 Hz tone in the first 5 s and
    // 880 Hz after, so audio position can be checked by pitch.
    ok_ = sh("ffmpeg -v error -f lavfi -i testsrc2=s=320x180:r=25:d=10 -f lavfi -i "
             "\"aevalsrc='0.5*sin(2*PI*if(lt(t,5),440,880)*t)':s=44100:d=10\" -c:v libx264 -g 125 "
             "-preset ultrafast -c:a aac -shortest " + (dir_ / "src.mp4").string()) &&
          sh("ffmpeg -v error -f lavfi -i \"sine=f=300:d=6\" -c:a aac " + (dir_ / "voice.m4a").string());
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void SetUp() override { ASSERT_TRUE(ok_) << "could not make test media"; }
  static std::string path(const std::string& n) { return (dir_ / n).string(); }
  static inline std::filesystem::path dir_;
  static inline bool ok_ = false;
};

double zero_cross_freq(const std::vector<float>& v, size_t a, size_t b, int rate) {
  int c = 0;
  for (size_t i = a + 1; i < b; ++i) c += (v[i - 1] < 0) != (v[i] < 0);
  return c / 2.0 / (static_cast<double>(b - a) / rate);
}

TEST_F(RenderTest, FrameExactLengthsAndContinuousTimeline) {
  std::vector<RenderClip> clips = {{path("src.mp4"), 1.0, 2.0}, {path("src.mp4"), 6.3, 7.5},
                                   {path("src.mp4"), 3.0, 3.52}};
  auto r = render(clips, path("out.mp4"), {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->encoder, "libx264");
  ASSERT_EQ(r->clips.size(), 3u);
  EXPECT_EQ(r->clips[0].frames, 25);
  EXPECT_EQ(r->clips[1].frames, 30);
  EXPECT_EQ(r->clips[2].frames, 13);
  EXPECT_EQ(r->frames, 68);
  EXPECT_DOUBLE_EQ(r->clips[1].output_start, 1.0);
  EXPECT_DOUBLE_EQ(r->clips[2].output_start, 2.2);

  auto info = probe(path("out.mp4"));
  ASSERT_TRUE(info.ok());
  ASSERT_NE(info->video(), nullptr);
  EXPECT_EQ(info->video()->width, 320);
  EXPECT_EQ(info->video()->height, 180);
  EXPECT_NEAR(info->video()->fps, 25.0, 1e-6);
  EXPECT_NEAR(info->duration, 68 / 25.0, 0.05);
  ASSERT_NE(info->audio(), nullptr);
  EXPECT_EQ(info->audio()->sample_rate, 48000);
  EXPECT_EQ(info->audio()->channels, 2);

  // Audio: clip 1 from the 440 Hz part, clip 2 from the 880 Hz part, each
  // exactly as long as its frames.
  auto pcm = decode_audio(path("out.mp4"), 48000);
  ASSERT_TRUE(pcm.ok());
  EXPECT_NEAR(static_cast<double>(pcm->size()), 68 / 25.0 * 48000, 2048);
  EXPECT_NEAR(zero_cross_freq(*pcm, 4800, 43200, 48000), 440, 10);
  EXPECT_NEAR(zero_cross_freq(*pcm, 52800, 100800, 48000), 880, 15);
  // Fades: the first samples start from silence.
  float head = 0;
  for (size_t i = 0; i < 48; ++i) head = std::max(head, std::fabs((*pcm)[i]));
  EXPECT_LT(head, 0.1f);
}

TEST_F(RenderTest, AudioOnlyInputRendersOverBlack) {
  RenderOptions o;
  o.width = 160;
  o.height = 90;
  o.fps = 10;
  auto r = render({{path("voice.m4a"), 1.0, 3.0}}, path("black.mp4"), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->frames, 20);
  auto info = probe(path("black.mp4"));
  ASSERT_TRUE(info.ok());
  ASSERT_NE(info->video(), nullptr);
  EXPECT_EQ(info->video()->width, 160);
  auto pcm = decode_audio(path("black.mp4"), 48000);
  ASSERT_TRUE(pcm.ok());
  EXPECT_NEAR(zero_cross_freq(*pcm, 4800, 86400, 48000), 300, 8);
}

TEST_F(RenderTest, ErrorsLeaveNoFile) {
  auto bad = render({{path("missing.mp4"), 0, 1}}, path("fail.mp4"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path("fail.mp4")));
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }
  auto empty = render({{path("src.mp4"), 2, 2}}, path("fail.mp4"), {});
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  auto none = render({}, path("fail.mp4"), {});
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
  auto folder = render({{path("src.mp4"), 0, 1}}, path("no/such/dir/x.mp4"), {});
  EXPECT_EQ(folder.status().code(), Code::kOutput);
}

}  // namespace
}  // namespace sf::media
