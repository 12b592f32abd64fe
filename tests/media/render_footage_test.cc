// The renderer on footage as it arrives: rotated phone clips, transport
// streams whose clock starts at an hour, variable frame rate with B-frames,
// odd sizes, 4:4:4 and 10-bit pictures, interlaced pictures, cover art.
// Media are made at test time with the ffmpeg CLI; output is decoded back
// and measured.
#include <gtest/gtest.h>

#include <cmath>

#include "media/audio.h"
#include "media/probe.h"
#include "media/render.h"
#include "media_fixture.h"
#include "picture_fixture.h"

namespace sf::media {
namespace {

using sf::testing::has_encoder;
using sf::testing::read_frames;
using sf::testing::sh;
using sf::testing::temp_dir;
using sf::testing::Yuv420Frame;

class RenderFootageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = temp_dir("footage"); }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  static std::string path(const std::string& n) { return (dir_ / n).string(); }
  static inline std::filesystem::path dir_;
};

// Red in a region: Cr well above neutral, Cb below; blue the other way round.
bool is_red(const Yuv420Frame& f, int x0, int y0, int x1, int y1) {
  return f.mean(f.v, x0, y0, x1, y1) > 180 && f.mean(f.u, x0, y0, x1, y1) < 128;
}
bool is_blue(const Yuv420Frame& f, int x0, int y0, int x1, int y1) {
  return f.mean(f.u, x0, y0, x1, y1) > 180 && f.mean(f.v, x0, y0, x1, y1) < 140;
}

// A phone held upright films a portrait picture (red on top, blue below)
// and stores it landscape with a rotation tag. `turn` is the filter that
// stores it; `rotate` the tag (the ffmpeg CLI's `rotate` metadata, which
// sets the display matrix on a stream copy).
void make_phone_clip(const std::string& out, const std::string& turn, int rotate) {
  const std::string stored = out + ".stored.mp4";
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i color=c=red:s=180x320:r=25:d=2 -vf "
                 "\"drawbox=x=0:y=160:w=180:h=160:color=blue:t=fill," + turn +
                 "\" -c:v libx264 -preset ultrafast -pix_fmt yuv420p " + stored));
  ASSERT_TRUE(sh("ffmpeg -v error -y -i " + stored + " -c copy -metadata:s:v:0 rotate=" + std::to_string(rotate) +
                 " " + out));
}

TEST_F(RenderFootageTest, RotatedPhoneClipComesOutUpright) {
  // Stored turned counter-clockwise: shown after a clockwise quarter turn
  // (the usual phone tag "90"); and the opposite.
  struct Case {
    std::string turn;
    int rotate;
    int expect_rotation;
  };
  for (const Case& c : {Case{"transpose=cclock", 270, 90}, Case{"transpose=clock", 90, 270}}) {
    SCOPED_TRACE(c.turn);
    const std::string in = path("phone-" + std::to_string(c.expect_rotation) + ".mp4");
    make_phone_clip(in, c.turn, c.rotate);
    auto info = probe(in);
    ASSERT_TRUE(info.ok()) << info.status().message();
    ASSERT_NE(info->video(), nullptr);
    EXPECT_EQ(info->video()->width, 320);
    EXPECT_EQ(info->video()->height, 180);
    EXPECT_EQ(info->video()->rotation, c.expect_rotation);
    EXPECT_EQ(info->video()->display_width, 180);
    EXPECT_EQ(info->video()->display_height, 320);

    const std::string out = path("upright-" + std::to_string(c.expect_rotation) + ".mp4");
    auto r = render({{in, 0.5, 1.5}}, out, {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    // The default profile is the displayed (portrait) size.
    EXPECT_EQ(r->width, 180);
    EXPECT_EQ(r->height, 320);
    auto frames = read_frames(out, 180, 320);
    ASSERT_EQ(static_cast<long long>(frames.size()), r->frames);
    const Yuv420Frame& f = frames[frames.size() / 2];
    EXPECT_TRUE(is_red(f, 20, 20, 160, 140)) << "top Cb " << f.mean(f.u, 20, 20, 160, 140) << " Cr "
                                             << f.mean(f.v, 20, 20, 160, 140);
    EXPECT_TRUE(is_blue(f, 20, 180, 160, 300)) << "bottom Cb " << f.mean(f.u, 20, 180, 160, 300) << " Cr "
                                               << f.mean(f.v, 20, 180, 160, 300);
  }
  // Into a landscape output the upright picture is pillarboxed, still upright.
  RenderOptions wide;
  wide.width = 640;
  wide.height = 360;
  const std::string out = path("upright-wide.mp4");
  auto r = render({{path("phone-90.mp4"), 0.5, 1.0}}, out, wide);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto frames = read_frames(out, 640, 360);
  ASSERT_FALSE(frames.empty());
  const Yuv420Frame& f = frames.back();
  EXPECT_TRUE(is_red(f, 280, 20, 360, 160));
  EXPECT_TRUE(is_blue(f, 280, 200, 360, 340));
  EXPECT_LT(f.mean(f.y, 0, 0, 100, 360), 20) << "pillarbox is black";
}

// Luma 16 + 16 * second: which second of the source a picture comes from.
constexpr const char* kSecondLuma = "geq=lum='16+16*floor(T)':cb=128:cr=128";

TEST_F(RenderFootageTest, TransportStreamStartingAtAnHourRendersTheRightMoment) {
  const std::string ts = path("broadcast.ts");
  // 10 s; a beep during second 4 only.
  ASSERT_TRUE(sh(std::string("ffmpeg -v error -y -f lavfi -i color=c=black:s=160x90:r=25:d=10 -f lavfi -i "
                             "\"aevalsrc='if(between(t,4,5),0.6*sin(2*PI*1000*t),0)':s=48000:d=10\" -vf \"") +
                 kSecondLuma + "\" -c:v libx264 -preset ultrafast -g 25 -c:a mp2 -output_ts_offset 3600 " + ts));
  auto info = probe(ts);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_NEAR(info->start_time, 3600, 2);

  const std::string out = path("broadcast.mp4");
  auto r = render({{ts, 3.5, 5.5}, {ts, 7.25, 7.75}}, out, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->frames, 50 + 13);
  auto frames = read_frames(out, 160, 90);
  ASSERT_EQ(frames.size(), 63u);
  // Output frame k shows source time 3.5 + k / 25.
  for (int k : {2, 10, 20, 30, 45}) {
    const double t = 3.5 + k / 25.0;
    EXPECT_NEAR(frames[static_cast<size_t>(k)].mean(frames[static_cast<size_t>(k)].y, 0, 0, 160, 90),
                16 + 16 * std::floor(t), 3)
        << "frame " << k;
  }
  EXPECT_NEAR(frames[55].mean(frames[55].y, 0, 0, 160, 90), 16 + 16 * 7, 3);
  // The beep sits at output 0.5 .. 1.5 s.
  auto pcm = decode_audio(out, 48000);
  ASSERT_TRUE(pcm.ok()) << pcm.status().message();
  double first = -1, last = -1;
  for (size_t i = 0; i < pcm->size(); ++i) {
    if (std::fabs((*pcm)[i]) > 0.2f) {
      if (first < 0) first = static_cast<double>(i) / 48000;
      last = static_cast<double>(i) / 48000;
    }
  }
  EXPECT_NEAR(first, 0.5, 0.02);
  EXPECT_NEAR(last, 1.5, 0.02);
}

TEST_F(RenderFootageTest, VariableFrameRateWithBFramesIsCutByTimestamp) {
  // Frame n shows luma 16 + 4 * (n % 50) and is shown at an irregular time
  // t(n) = 0.033 n + 0.02 (n odd), in milliseconds exactly; B-frames.
  const std::string vfr = path("vfr.mp4");
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i color=c=black:s=64x64:r=30:d=8 -vf "
                 "\"geq=lum='16+4*mod(N,50)':cb=128:cr=128,settb=1/1000,setpts='(0.033*N+0.02*mod(N,2))/TB'\" "
                 "-fps_mode passthrough -enc_time_base 1:1000 -c:v libx264 -preset veryfast -qp 4 "
                 "-x264-params bframes=3:b-adapt=0 -video_track_timescale 1000 " + vfr));
  auto info = probe(vfr);
  ASSERT_TRUE(info.ok());
  ASSERT_NE(info->video(), nullptr);
  auto source_time = [](int n) { return 0.033 * n + 0.02 * (n % 2); };

  RenderOptions o;
  o.fps = 30;
  const double start = 2.0101, end = 3.4101;
  const std::string out = path("vfr-cut.mp4");
  auto r = render({{vfr, start, end}}, out, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto frames = read_frames(out, 64, 64);
  ASSERT_EQ(static_cast<long long>(frames.size()), r->frames);
  ASSERT_EQ(r->frames, 42);
  for (size_t k = 0; k < frames.size(); ++k) {
    const double t = start + static_cast<double>(k) / 30;
    int n = 0;
    while (source_time(n + 1) <= t) ++n;  // the last source frame at or before t
    const double luma = frames[k].mean(frames[k].y, 8, 8, 56, 56);
    EXPECT_NEAR(luma, 16 + 4 * (n % 50), 1.5) << "output frame " << k << " should show source frame " << n;
  }
}

// A picture of two colour halves (red on top, blue below) in an unusual
// shape, encoded with `codec_args`; renders into an even yuv420p output.
void check_shape(const std::string& file, const std::string& size, const std::string& codec_args, int out_w,
                 int out_h) {
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i color=c=red:s=" + size +
                 ":r=25:d=2 -vf \"drawbox=x=0:y=ih/2:w=iw:h=ih/2:color=blue:t=fill\" " + codec_args + " " + file));
  const std::string out = file + ".out.mp4";
  auto r = render({{file, 0.4, 1.2}}, out, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->width, out_w);
  EXPECT_EQ(r->height, out_h);
  auto info = probe(out);
  ASSERT_TRUE(info.ok());
  ASSERT_NE(info->video(), nullptr);
  EXPECT_EQ(info->video()->width, out_w);
  EXPECT_EQ(info->video()->height, out_h);
  auto frames = read_frames(out, out_w, out_h);
  ASSERT_EQ(static_cast<long long>(frames.size()), r->frames);
  const Yuv420Frame& f = frames[frames.size() / 2];
  EXPECT_TRUE(is_red(f, 8, 8, out_w - 8, out_h / 2 - 8));
  EXPECT_TRUE(is_blue(f, 8, out_h / 2 + 8, out_w - 8, out_h - 8));
}

TEST_F(RenderFootageTest, OddSizedHigh444Renders) {
  check_shape(path("odd444.mp4"), "853x479", "-c:v libx264 -preset ultrafast -pix_fmt yuv444p", 852, 478);
}

TEST_F(RenderFootageTest, TenBitHevcRenders) {
  if (!has_encoder("libx265")) GTEST_SKIP() << "the ffmpeg CLI here has no libx265 encoder to make HEVC Main10";
  check_shape(path("main10.mp4"), "320x180", "-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le -tag:v hvc1",
              320, 180);
}

TEST_F(RenderFootageTest, InterlacedInputIsDeinterlaced) {
  // A white bar racing across black at 50 fields per second, woven into
  // 25 interlaced frames: every frame of the source is combed.
  const std::string in = path("interlaced.mp4");
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i color=c=black:s=320x240:r=50:d=3 -f lavfi -i "
                 "color=c=white:s=40x160:r=50:d=3 -filter_complex "
                 "\"[0][1]overlay=x='mod(t*600,280)':y=40,tinterlace=mode=interleave_top,setfield=tff\" -c:v libx264 -preset ultrafast -qp 0 -flags +ildct+ilme -x264opts tff=1 " + in));
  auto src_frames = read_frames(in, 320, 240);
  ASSERT_GT(src_frames.size(), 20u);
  const double src_comb = sf::testing::combing(src_frames[20]);

  const std::string out = path("deinterlaced.mp4");
  auto r = render({{in, 0.5, 1.5}}, out, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->width, 320);
  EXPECT_EQ(r->height, 240);
  auto frames = read_frames(out, 320, 240);
  ASSERT_EQ(static_cast<long long>(frames.size()), r->frames);
  double comb = 0;
  for (const auto& f : frames) comb = std::max(comb, sf::testing::combing(f));
  EXPECT_LT(comb, src_comb * 0.4) << "source combing " << src_comb << ", output " << comb;
}

TEST_F(RenderFootageTest, Mp3WithCoverArtRendersAsAudioOnly) {
  const std::string cover = path("cover.png"), mp3 = path("song.mp3");
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i color=c=yellow:s=64x64 -frames:v 1 " + cover));
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i \"sine=f=500:d=4\" -i " + cover +
                 " -map 0:a -map 1:v -c:a libmp3lame -c:v png -disposition:v attached_pic -id3v2_version 3 " + mp3));
  auto info = probe(mp3);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->video(), nullptr) << "cover art is not video";
  ASSERT_NE(info->audio(), nullptr);

  const std::string out = path("song.mp4");
  auto r = render({{mp3, 1.0, 3.0}}, out, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->width, 1280);  // no video input: the default profile
  EXPECT_EQ(r->height, 720);
  EXPECT_EQ(r->frames, 60);
  auto frames = read_frames(out, 1280, 720);
  ASSERT_EQ(frames.size(), 60u);
  EXPECT_LT(frames[30].mean(frames[30].y, 0, 0, 1280, 720), 20) << "black, not the cover";
  auto pcm = decode_audio(out, 48000);
  ASSERT_TRUE(pcm.ok());
  EXPECT_NEAR(static_cast<double>(pcm->size()), 2.0 * 48000, 2048);
}

}  // namespace
}  // namespace sf::media
