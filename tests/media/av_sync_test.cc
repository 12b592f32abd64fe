// A/V sync through the renderer: a source flashes a white frame and beeps at
// the same instants; after cutting at odd times, every flash in the output
// must coincide with its beep.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/probe.h"
#include "media/render.h"
#include "media_fixture.h"

namespace sf::media {
namespace {

using sf::testing::sh;
using sf::testing::temp_dir;

// Mean luma of each frame, read back with the ffmpeg CLI (test-only).
std::vector<double> frame_luma(const std::string& path) {
  std::string cmd = "ffmpeg -v error -i " + path + " -vf scale=16:16 -f rawvideo -pix_fmt gray -";
  std::vector<double> out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  unsigned char buf[256];
  while (std::fread(buf, 1, sizeof(buf), p) == sizeof(buf)) {
    double s = 0;
    for (unsigned char c : buf) s += c;
    out.push_back(s / sizeof(buf));
  }
  pclose(p);
  return out;
}

// Times (s) of the frames where a flash begins, at `fps`.
std::vector<double> flash_times(const std::vector<double>& luma, double fps) {
  std::vector<double> flashes;
  for (size_t i = 0; i < luma.size(); ++i) {
    if (luma[i] > 128 && (i == 0 || luma[i - 1] <= 128)) flashes.push_back(static_cast<double>(i) / fps);
  }
  return flashes;
}

// Times (s) where a beep begins in `path`'s sound (beeps at least 0.5 s apart).
void beep_times(const std::string& path, std::vector<double>* beeps) {
  auto pcm = decode_audio(path, 48000);
  ASSERT_TRUE(pcm.ok());
  double last = -1;
  for (size_t i = 0; i < pcm->size(); ++i) {
    if (std::fabs((*pcm)[i]) > 0.2f) {
      double t = static_cast<double>(i) / 48000;
      if (t - last > 0.5) beeps->push_back(t);
      last = t;
    }
  }
}

TEST(AvSync, FlashesMeetTheirBeepsAfterCuts) {
  auto dir = temp_dir("avsync");
  const std::string src = (dir / "src.mp4").string(), out = (dir / "out.mp4").string();
  // Flash + beep at t = 1.0, 3.0, 5.0, 7.0 (every 2 s, 1 frame at 25 fps).
  ASSERT_TRUE(sh("ffmpeg -v error -f lavfi -i color=c=black:s=160x120:r=25:d=9 -f lavfi -i "
                 "\"aevalsrc='if(between(mod(t,2),1,1.04),0.8*sin(2*PI*1000*t),0)':s=44100:d=9\" "
                 "-vf \"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(mod(t,2),1,1.039)'\" "
                 "-c:v libx264 -g 50 -bf 2 -preset ultrafast -c:a aac " + src));
  RenderOptions opt;
  opt.fps = 30;  // different from the source's 25: frames are resampled too
  auto r = render({{src, 0.55, 3.37}, {src, 4.71, 7.43}}, out, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();

  const auto luma = frame_luma(out);
  ASSERT_EQ(static_cast<long long>(luma.size()), r->frames);
  const std::vector<double> flashes = flash_times(luma, 30.0);
  std::vector<double> beeps;
  ASSERT_NO_FATAL_FAILURE(beep_times(out, &beeps));
  // Source flashes at 1, 3 (clip 1) and 5, 7 (clip 2).
  ASSERT_EQ(flashes.size(), 4u);
  ASSERT_EQ(beeps.size(), 4u);
  const double expected[] = {1.0 - 0.55, 3.0 - 0.55, r->clips[1].output_start + 5.0 - 4.71,
                             r->clips[1].output_start + 7.0 - 4.71};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(beeps[i], expected[i], 0.012) << "beep " << i;
    // A flash lasts 1/25 s, sampled at 1/30 s: it shows within one output frame.
    EXPECT_NEAR(flashes[i], expected[i], 1.0 / 30 + 0.002) << "flash " << i;
    EXPECT_NEAR(flashes[i], beeps[i], 1.0 / 30 + 0.012) << "pair " << i;
  }
  std::filesystem::remove_all(dir);
}

// Flash + beep every second at t = k + 0.52 in a transport stream whose clock
// starts at an hour, 44.1 kHz sound, cut at odd times into 30 fps: every
// flash still meets its beep, and both land where the file times say.
TEST(AvSync, ManyCutsOfABroadcastStayInSync) {
  auto dir = temp_dir("avsync-ts");
  const std::string src = (dir / "src.ts").string(), out = (dir / "out.mp4").string();
  ASSERT_TRUE(sh("ffmpeg -v error -f lavfi -i color=c=black:s=160x120:r=25:d=12 -f lavfi -i "
                 "\"aevalsrc='if(between(mod(t,1),0.52,0.56),0.8*sin(2*PI*1000*t),0)':s=44100:d=12\" "
                 "-vf \"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(mod(t,1),0.51,0.55)'\" "
                 "-c:v libx264 -g 50 -bf 2 -preset ultrafast -c:a aac -output_ts_offset 3600 " + src));
  const std::vector<RenderClip> clips = {{src, 0.3, 2.1}, {src, 3.37, 4.81}, {src, 6.05, 6.9}, {src, 8.2, 11.7}};
  RenderOptions opt;
  opt.fps = 30;
  auto r = render(clips, out, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // File time is what a player shows: the stream starts at the container's
  // start (AAC's priming samples come first), so the content sits a little
  // after its nominal time.
  auto info = probe(src);
  ASSERT_TRUE(info.ok());
  ASSERT_NE(info->video(), nullptr);
  const double lead = info->video()->start_time - info->start_time;
  EXPECT_GE(lead, 0);
  EXPECT_LT(lead, 0.1);
  std::vector<double> expected;
  for (size_t c = 0; c < clips.size(); ++c) {
    for (int k = 0; k < 12; ++k) {
      const double t = k + 0.52 + lead;
      if (t > clips[c].start + 0.05 && t < clips[c].end - 0.1) {
        expected.push_back(r->clips[c].output_start + t - clips[c].start);
      }
    }
  }
  ASSERT_EQ(expected.size(), 9u);

  const auto luma = frame_luma(out);
  ASSERT_EQ(static_cast<long long>(luma.size()), r->frames);
  const std::vector<double> flashes = flash_times(luma, 30.0);
  std::vector<double> beeps;
  ASSERT_NO_FATAL_FAILURE(beep_times(out, &beeps));
  auto list = [](const std::vector<double>& v) {
    std::string s;
    for (double x : v) s += std::to_string(x) + " ";
    return s;
  };
  ASSERT_EQ(flashes.size(), expected.size()) << "flashes " << list(flashes) << "expected " << list(expected);
  ASSERT_EQ(beeps.size(), expected.size()) << "beeps " << list(beeps) << "expected " << list(expected);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(beeps[i], expected[i], 0.012) << "beep " << i;
    // The flash shows from the first output frame at or after it.
    EXPECT_GE(flashes[i], expected[i] - 0.002) << "flash " << i;
    EXPECT_LE(flashes[i], expected[i] + 1.0 / 30 + 0.002) << "flash " << i;
    EXPECT_NEAR(flashes[i], beeps[i], 1.0 / 30 + 0.012) << "pair " << i;
  }
  std::filesystem::remove_all(dir);
}

// A steady 44.1 kHz tone resampled to 48 kHz: inside each clip the sound is
// one unbroken wave (no sample dropped or doubled where decoded frames meet),
// seen as evenly spaced zero crossings.
TEST(AvSync, ResampledAudioIsContiguous) {
  auto dir = temp_dir("avsync-tone");
  const std::string src = (dir / "tone.mp4").string(), out = (dir / "out.mp4").string();
  ASSERT_TRUE(sh("ffmpeg -v error -f lavfi -i color=c=black:s=64x64:r=25:d=10 -f lavfi -i "
                 "\"sine=f=441:sample_rate=44100:d=10\" -c:v libx264 -preset ultrafast -c:a aac -b:a 256k " + src));
  RenderOptions opt;
  opt.fps = 30;
  auto r = render({{src, 0.37, 3.91}, {src, 5.13, 8.77}}, out, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto pcm = decode_audio(out, 48000);
  ASSERT_TRUE(pcm.ok());
  const double period = 48000.0 / 441;
  for (const auto& c : r->clips) {
    const auto a = static_cast<size_t>((c.output_start + 0.1) * 48000);
    const auto b = std::min(pcm->size(), static_cast<size_t>((c.output_end - 0.1) * 48000));
    std::vector<double> ups;
    for (size_t i = a + 1; i < b; ++i) {
      const float x0 = (*pcm)[i - 1], x1 = (*pcm)[i];
      if (x0 < 0 && x1 >= 0) ups.push_back(static_cast<double>(i - 1) + x0 / (x0 - x1));
    }
    ASSERT_GT(ups.size(), 100u);
    double worst = 0;
    for (size_t i = 1; i < ups.size(); ++i) worst = std::max(worst, std::fabs(ups[i] - ups[i - 1] - period));
    EXPECT_LT(worst, 0.3) << "a zero-crossing interval is off by " << worst << " samples";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sf::media
