#include "media/render.h"

#include <gtest/gtest.h>

#include <cmath>

#include "media/audio.h"
#include "media/probe.h"
#include "media_fixture.h"
#include "picture_fixture.h"

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
          sh("ffmpeg -v error -f lavfi -i \"sine=f=300:d=6\" -c:a aac " + (dir_ / "voice.m4a").string()) &&
          // The same as MPEG-TS: no index, seeks by file position.
          sh("ffmpeg -v error -i " + (dir_ / "src.mp4").string() + " -c copy -f mpegts " + (dir_ / "src.ts").string());
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

// Clips of an MP4, an MPEG-TS and an audio-only input, back and forth.
std::vector<RenderClip> mixed_clips(const std::string& mp4, const std::string& ts, const std::string& m4a) {
  return {{mp4, 1.0, 2.0}, {ts, 6.3, 7.5}, {mp4, 3.0, 3.52}, {m4a, 1.0, 2.0}, {ts, 0.0, 0.8}, {mp4, 8.2, 9.9}};
}

RenderOptions small() {
  RenderOptions o;
  o.width = 160;
  o.height = 90;
  o.fps = 25;
  o.cpu_only = true;
  return o;
}

// Renders `clips` by appending them one by one to a Renderer.
Result<RenderResult> append_all(const std::vector<RenderClip>& clips, const std::string& out, const RenderOptions& o,
                                const MediaInfo* profile) {
  SF_ASSIGN_OR_RETURN(auto r, Renderer::open(out, o, profile));
  for (const auto& c : clips) SF_RETURN_IF_ERROR(r->add(c));
  return r->finish();
}

void expect_same_output(const std::string& a, const RenderResult& ra, const std::string& b, const RenderResult& rb) {
  EXPECT_EQ(ra.frames, rb.frames);
  EXPECT_DOUBLE_EQ(ra.duration, rb.duration);
  ASSERT_EQ(ra.clips.size(), rb.clips.size());
  for (size_t i = 0; i < ra.clips.size(); ++i) {
    EXPECT_EQ(ra.clips[i].frames, rb.clips[i].frames) << "clip " << i;
    EXPECT_DOUBLE_EQ(ra.clips[i].output_start, rb.clips[i].output_start) << "clip " << i;
  }
  // The same pictures and the same sound.
  const auto fa = sf::testing::read_frames(a, ra.width, ra.height);
  const auto fb = sf::testing::read_frames(b, rb.width, rb.height);
  ASSERT_EQ(fa.size(), fb.size());
  ASSERT_EQ(static_cast<long long>(fa.size()), ra.frames);
  // The encoder is not bit-exact from run to run (two renders of the same
  // clips differ by up to ~1.3 in mean luma here), so pictures compare by
  // their mean difference: a frame from the next source time differs by
  // 3.7 or more (testsrc2 moves every frame), black from a picture by ~100.
  for (size_t i = 0; i < fa.size(); ++i) {
    ASSERT_EQ(fa[i].y.size(), fb[i].y.size());
    double diff = 0;
    for (size_t k = 0; k < fa[i].y.size(); ++k) diff += std::abs(int(fa[i].y[k]) - int(fb[i].y[k]));
    diff /= static_cast<double>(fa[i].y.size());
    EXPECT_LT(diff, 2.5) << "frame " << i;
  }
  auto pa = decode_audio(a, 48000);
  auto pb = decode_audio(b, 48000);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(*pa, *pb);
}

TEST_F(RenderTest, RendererAppendingClipsEqualsOneShotRender) {
  const auto clips = mixed_clips(path("src.mp4"), path("src.ts"), path("voice.m4a"));
  auto once = render(clips, path("once.mp4"), small());
  ASSERT_TRUE(once.ok()) << once.status().message();
  ASSERT_EQ(once->clips.size(), clips.size());

  auto appended = append_all(clips, path("appended.mp4"), small(), nullptr);
  ASSERT_TRUE(appended.ok()) << appended.status().message();
  expect_same_output(path("once.mp4"), *once, path("appended.mp4"), *appended);

  // Clips read ahead in parallel, each on its own demuxer, cut the same.
  RenderOptions ahead = small();
  ahead.local_readers = 4;
  auto parallel = append_all(clips, path("ahead.mp4"), ahead, nullptr);
  ASSERT_TRUE(parallel.ok()) << parallel.status().message();
  expect_same_output(path("once.mp4"), *once, path("ahead.mp4"), *parallel);
}

TEST_F(RenderTest, RendererTakesTheProfileFromTheProbeItIsGiven) {
  auto info = probe(path("src.mp4"));
  ASSERT_TRUE(info.ok());
  RenderOptions o;
  o.cpu_only = true;
  auto r = append_all({{path("voice.m4a"), 0.5, 1.5}}, path("profile.mp4"), o, &*info);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->width, 320);
  EXPECT_EQ(r->height, 180);
  EXPECT_DOUBLE_EQ(r->fps, 25.0);
  EXPECT_EQ(r->frames, 25);
  // No source: the defaults.
  auto d = Renderer::open(path("default.mp4"), o, nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->width(), 1280);
  EXPECT_EQ((*d)->height(), 720);
  EXPECT_DOUBLE_EQ((*d)->fps(), 30.0);
}

void expect_no_partial_files(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }
}

TEST_F(RenderTest, UnfinishedRendererLeavesNoFile) {
  {
    auto r = Renderer::open(path("unfinished.mp4"), small(), nullptr);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_TRUE((*r)->add({path("src.mp4"), 0.0, 4.0}).ok());
    ASSERT_TRUE((*r)->add({path("src.ts"), 5.0, 9.0}).ok());
  }  // destroyed while cutting and encoding
  {
    RenderOptions ahead = small();
    ahead.local_readers = 3;
    auto r = Renderer::open(path("unfinished.mp4"), ahead, nullptr);
    ASSERT_TRUE(r.ok());
    for (int i = 0; i < 6; ++i) ASSERT_TRUE((*r)->add({path("src.mp4"), i * 1.5, i * 1.5 + 1.0}).ok());
  }
  { auto r = Renderer::open(path("unfinished.mp4"), small(), nullptr); }  // nothing added
  EXPECT_FALSE(std::filesystem::exists(path("unfinished.mp4")));
  expect_no_partial_files(dir_);
}

TEST_F(RenderTest, RendererErrors) {
  auto r = Renderer::open(path("errors.mp4"), small(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->add({path("src.mp4"), 2.0, 2.0}).code(), Code::kInvalidArgument);
  auto none = (*r)->finish();
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument) << "no clip was added";
  EXPECT_EQ((*r)->add({path("src.mp4"), 0.0, 1.0}).code(), Code::kInternal) << "after finish";
  EXPECT_FALSE(std::filesystem::exists(path("errors.mp4")));

  // An unreadable input: its error comes from a later add() or finish().
  r = Renderer::open(path("errors.mp4"), small(), nullptr);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->add({path("src.mp4"), 0.0, 1.0}).ok());
  Status st = (*r)->add({path("missing.mp4"), 0.0, 1.0});
  auto done = (*r)->finish();
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.status().code(), Code::kNotFound);
  EXPECT_NE(done.status().message().find("missing.mp4"), std::string::npos);
  EXPECT_TRUE(st.ok() || st.code() == Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path("errors.mp4")));
  expect_no_partial_files(dir_);

  EXPECT_EQ(Renderer::open(path("no/such/dir/x.mp4"), small(), nullptr).status().code(), Code::kOutput);
}

}  // namespace
}  // namespace sf::media
