// One long clip: twenty minutes of mostly still picture, streamed through
// the renderer (its sound is never held whole). Times stay exact to the end:
// a flash and a beep every minute land where they should, in sync.
#include <gtest/gtest.h>

#include <cmath>

#include "media/audio.h"
#include "media/render.h"
#include "media_fixture.h"
#include "picture_fixture.h"

namespace sf::media {
namespace {

using sf::testing::read_frames;
using sf::testing::sh;
using sf::testing::temp_dir;

TEST(RenderLong, TwentyMinuteClipKeepsTimeAndSyncToTheEnd) {
  auto dir = temp_dir("render-long");
  const std::string src = (dir / "long.mp4").string(), out = (dir / "out.mp4").string();
  // 1200 s at 10 fps; at 30.5 s past every minute one white frame and a 0.1 s beep.
  ASSERT_TRUE(sh("ffmpeg -v error -f lavfi -i color=c=black:s=64x48:r=10:d=1200 -f lavfi -i "
                 "\"aevalsrc='if(between(mod(t,60),30.5,30.6),0.8*sin(2*PI*1000*t),0)':s=22050:d=1200\" "
                 "-vf \"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(mod(t,60),30.5,30.599)'\" "
                 "-c:v libx264 -preset ultrafast -g 250 -c:a aac -b:a 64k " + src));
  const double start = 0.5, end = 1199.5;
  auto r = render({{src, start, end}}, out, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->frames, 11990);
  EXPECT_DOUBLE_EQ(r->fps, 10);

  auto frames = read_frames(out, 64, 48);
  ASSERT_EQ(static_cast<long long>(frames.size()), r->frames);
  std::vector<double> flashes;
  for (size_t i = 0; i < frames.size(); ++i) {
    const bool white = frames[i].mean(frames[i].y, 0, 0, 64, 48) > 128;
    const bool was = i > 0 && frames[i - 1].mean(frames[i - 1].y, 0, 0, 64, 48) > 128;
    if (white && !was) flashes.push_back(static_cast<double>(i) / 10);
  }
  frames.clear();
  auto pcm = decode_audio(out, 48000);
  ASSERT_TRUE(pcm.ok());
  EXPECT_NEAR(static_cast<double>(pcm->size()), (end - start) * 48000, 2048);
  std::vector<double> beeps;
  double last = -1;
  for (size_t i = 0; i < pcm->size(); ++i) {
    if (std::fabs((*pcm)[i]) > 0.2f) {
      const double t = static_cast<double>(i) / 48000;
      if (t - last > 1) beeps.push_back(t);
      last = t;
    }
  }
  ASSERT_EQ(flashes.size(), 20u);
  ASSERT_EQ(beeps.size(), 20u);
  for (size_t m = 0; m < 20; ++m) {
    const double expected = 60.0 * static_cast<double>(m) + 30.5 - start;
    EXPECT_NEAR(beeps[m], expected, 0.012) << "beep of minute " << m;
    EXPECT_NEAR(flashes[m], expected, 0.1 + 0.002) << "flash of minute " << m;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sf::media
