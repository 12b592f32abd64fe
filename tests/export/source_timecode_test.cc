// Source timecode from real files: libav's reading of a QuickTime `tmcd`
// track, and exports offset by it.
#include <gtest/gtest.h>

#include <filesystem>

#include "export/timeline.h"
#include "media/media_fixture.h"
#include "media/probe.h"

namespace sf::exports {
namespace {

namespace fs = std::filesystem;

class ExportSourceTimecode : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::temp_dir("export-tmcd"); }
  void TearDown() override { fs::remove_all(dir_); }

  // A 2 s clip with a start timecode (written as a `tmcd` track by the
  // ffmpeg CLI, a test fixture only).
  std::string make(const std::string& name, const std::string& rate, const std::string& tc) {
    const std::string out = (dir_ / name).string();
    std::string cmd = "ffmpeg -v error -y -f lavfi -i testsrc=size=64x48:rate=" + rate +
                      " -f lavfi -i sine=frequency=440:sample_rate=48000 -t 2 -c:v libx264 -pix_fmt yuv420p "
                      "-c:a aac";
    if (!tc.empty()) cmd += " -timecode '" + tc + "'";
    if (!testing::sh(cmd + " '" + out + "'")) return "";
    return out;
  }

  fs::path dir_;
};

TEST_F(ExportSourceTimecode, ProbeReadsTmcdTracks) {
  const std::string ntsc = make("ntsc.mov", "30000/1001", "01:00:00;00");
  const std::string pal = make("pal.mp4", "25", "10:00:00:00");
  const std::string none = make("none.mp4", "25", "");
  if (ntsc.empty() || pal.empty() || none.empty()) GTEST_SKIP() << "the ffmpeg CLI cannot make the fixtures";

  auto a = media::probe(ntsc);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->timecode, "01:00:00;00");
  EXPECT_EQ(a->timecode_frame, 107892);
  EXPECT_NEAR(a->timecode_fps, 29.97, 0.01);

  auto b = media::probe(pal);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->timecode, "10:00:00:00");
  EXPECT_EQ(b->timecode_frame, 900000);

  auto c = media::probe(none);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->timecode, "");
  EXPECT_EQ(c->timecode_frame, -1);

  // The probe's frame and the exports' reading of the label agree.
  Timeline t;
  t.sources = {{ntsc, "", a->duration, true, a->video()->fps, 64, 48, 48000, 2, a->timecode},
               {pal, "", b->duration, true, b->video()->fps, 64, 48, 48000, 2, b->timecode}};
  t.clips = {{0, 1.0, 1.5, 0.0, 0.5, "", {"x"}}, {1, 0.4, 1.0, 0.5, 1.1, "", {"y"}}};
  EXPECT_EQ(source_start_frame(t, t.sources[0]), a->timecode_frame);
  EXPECT_EQ(source_start_frame(t, t.sources[1]), b->timecode_frame);
  const std::string edl = to_edl(t);
  // 1 s into 01:00:00;00 at 29.97 is frame 107892 + 30: 01:00:01;00.
  EXPECT_NE(edl.find(" 01:00:01;00 "), std::string::npos) << edl;
  // 0.4 s into 10:00:00:00 at 25 is 10:00:00:10.
  EXPECT_NE(edl.find(" 10:00:00:10 "), std::string::npos) << edl;
}

}  // namespace
}  // namespace sf::exports
