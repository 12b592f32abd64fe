// The audio reader on real encodes made at test time with the ffmpeg CLI:
// file time, holes, overlaps, format changes, down-mixing and codecs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "media/audio.h"
#include "media_fixture.h"

namespace sf::media {
namespace {

using sf::testing::sh;
using sf::testing::temp_dir;

constexpr int kRate = 16000;

class AudioReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("audio-reader"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }

  // Runs ffmpeg with `args` (inputs, filters, codec) writing `out`.
  std::string make(const std::string& args, const std::string& out) const {
    EXPECT_TRUE(sh("ffmpeg -v error -y " + args + " " + path(out))) << args;
    return path(out);
  }

  static std::vector<float> decode(const std::string& p) {
    auto pcm = decode_audio(p, kRate);
    EXPECT_TRUE(pcm.ok()) << pcm.status().message();
    return pcm.ok() ? *pcm : std::vector<float>{};
  }

  // Concatenates files byte by byte, as a joined capture is.
  std::string join(const std::vector<std::string>& parts, const std::string& out) const {
    std::ofstream o(path(out), std::ios::binary);
    for (const auto& p : parts) {
      std::ifstream i(p, std::ios::binary);
      o << i.rdbuf();
    }
    return path(out);
  }

  std::filesystem::path dir_;
};

double seconds(const std::vector<float>& v) { return static_cast<double>(v.size()) / kRate; }

// First time at or after `from` seconds where the level passes `level`.
double onset(const std::vector<float>& v, double from, float level = 0.1f) {
  for (auto i = static_cast<size_t>(from * kRate); i < v.size(); ++i) {
    if (std::fabs(v[i]) > level) return static_cast<double>(i) / kRate;
  }
  return -1;
}

std::vector<float> slice(const std::vector<float>& v, double a, double b) {
  auto i = std::min(v.size(), static_cast<size_t>(a * kRate));
  auto j = std::min(v.size(), static_cast<size_t>(b * kRate));
  return {v.begin() + static_cast<long>(i), v.begin() + static_cast<long>(j)};
}

double frequency(const std::vector<float>& v) {
  int crossings = 0;
  for (size_t i = 1; i < v.size(); ++i) crossings += (v[i - 1] < 0) != (v[i] < 0);
  return v.empty() ? 0 : crossings / 2.0 / seconds(v);
}

float peak(const std::vector<float>& v) {
  float p = 0;
  for (float x : v) p = std::max(p, std::fabs(x));
  return p;
}

// A 440 Hz beep of 0.5 from `at` seconds to the end of `d` seconds.
std::string beep_at(double at, double d, int rate = 44100) {
  return "-f lavfi -i \"aevalsrc='if(gte(t," + std::to_string(at) + "),0.5*sin(2*PI*440*t),0)':s=" +
         std::to_string(rate) + ":d=" + std::to_string(d) + "\"";
}

TEST_F(AudioReaderTest, TransportStreamStartingAtAnHourReadsInFileTime) {
  auto zero = make(beep_at(1.5, 4) + " -c:a aac", "zero.ts");
  auto hour = make(beep_at(1.5, 4) + " -c:a aac -output_ts_offset 3600", "hour.ts");
  auto r = AudioReader::open(hour, kRate);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT((*r)->start_time(), 3600.0);
  auto a = decode(zero), b = decode(hour);
  EXPECT_NEAR(onset(a, 0), 1.5, 0.03);
  EXPECT_NEAR(onset(b, 0), 1.5, 0.03);
  EXPECT_NEAR(seconds(a), 4.0, 0.06);
  EXPECT_NEAR(seconds(b), seconds(a), 1.0 / kRate + 1e-9);
}

TEST_F(AudioReaderTest, HoleBecomesSilenceOfTheSameLength) {
  // Packets from 1.2 to 2.2 s are gone (the timestamps say so); the beep
  // at 3 s must still be read at 3 s, not 1 s early.
  auto holed = make(beep_at(3.0, 4) + " -af \"aselect='not(between(t,1.2,2.2))'\" -c:a pcm_s16le", "holed.mkv");
  auto pcm = decode(holed);
  EXPECT_NEAR(seconds(pcm), 4.0, 0.03);
  EXPECT_NEAR(onset(pcm, 0), 3.0, 0.01);
  EXPECT_LT(peak(slice(pcm, 1.0, 2.9)), 1e-4f);
}

TEST_F(AudioReaderTest, HoleInCompressedAudioKeepsLaterSoundInPlace) {
  auto holed = make(beep_at(3.0, 4) + " -af \"aselect='not(between(t,0.5,2.0))'\" -c:a libmp3lame -b:a 128k",
                    "holed-mp3.mkv");
  auto pcm = decode(holed);
  EXPECT_NEAR(seconds(pcm), 4.0, 0.06);
  EXPECT_NEAR(onset(pcm, 0.2), 3.0, 0.03);
}

TEST_F(AudioReaderTest, LeadingGapBeforeTheAudioIsSilence) {
  // The video starts at 0, the audio 0.8 s later: the sound keeps its place.
  auto late = make("-f lavfi -i testsrc2=s=160x120:r=25:d=3 -itsoffset 0.8 " + beep_at(0, 2) +
                       " -map 0:v -map 1:a -c:v libx264 -c:a aac",
                   "late.mp4");
  auto pcm = decode(late);
  EXPECT_NEAR(onset(pcm, 0), 0.8, 0.03);
}

TEST_F(AudioReaderTest, OverlappingAudioIsDropped) {
  // Two captures joined byte by byte, the second starting 0.5 s before the
  // first ends: the overlap is dropped, the second's beep stays at its time.
  auto a = make("-f lavfi -i \"aevalsrc='0.5*sin(2*PI*440*t)':s=48000:d=3\" -c:a mp2", "a.ts");
  auto b = make(beep_at(1.0, 3, 48000) + " -c:a mp2 -output_ts_offset 2.5", "b.ts");
  auto pcm = decode(join({a, b}, "ab.ts"));
  EXPECT_NEAR(seconds(pcm), 5.5, 0.06);
  // The first capture's tone runs to its end (3 s); what is left of the
  // second's leading silence follows, then its beep at 2.5 + 1 s.
  EXPECT_GT(peak(slice(pcm, 2.6, 2.95)), 0.4f);
  EXPECT_LT(peak(slice(pcm, 3.05, 3.45)), 0.05f);
  EXPECT_NEAR(onset(pcm, 3.05), 3.5, 0.03);
}

TEST_F(AudioReaderTest, FormatChangeMidStreamRebuildsTheResampler) {
  struct Case {
    std::string codec, ext, first, second;
  };
  const std::vector<Case> cases = {
      {"aac", "aac", "-ar 44100 -ac 2", "-ar 22050 -ac 1"},          // ADTS
      {"libmp3lame", "mp3", "-ar 44100 -ac 2", "-ar 16000 -ac 1"},   // MPEG-1 then MPEG-2 layer 3
      {"mp2", "ts", "-ar 48000 -ac 1", "-ar 32000 -ac 2"},          // TS pieces, clock restarting
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.ext);
    auto a = make("-f lavfi -i \"aevalsrc='0.5*sin(2*PI*440*t)':s=48000:d=2\" " + c.first + " -c:a " + c.codec,
                  "first." + c.ext);
    auto b = make("-f lavfi -i \"aevalsrc='0.5*sin(2*PI*880*t)':s=48000:d=2\" " + c.second + " -c:a " + c.codec,
                  "second." + c.ext);
    auto pcm = decode(join({a, b}, "joined." + c.ext));
    // Each piece carries its encoder's priming and padding (up to ~0.1 s
    // with AAC at 22 kHz and no container to say so).
    EXPECT_NEAR(seconds(pcm), 4.0, 0.16);
    EXPECT_NEAR(frequency(slice(pcm, 0.2, 1.8)), 440.0, 5.0);
    EXPECT_NEAR(frequency(slice(pcm, 2.3, 3.8)), 880.0, 8.0);
    // No shift at the change: the second tone begins at 2 s (plus the
    // second encoder's priming).
    EXPECT_GT(peak(slice(pcm, 1.9, 2.2)), 0.2f);
    EXPECT_NEAR(frequency(slice(pcm, 2.15, 2.4)), 880.0, 40.0);
    EXPECT_NEAR(frequency(slice(pcm, 1.7, 1.92)), 440.0, 40.0);
  }
}

TEST_F(AudioReaderTest, CentreOnlyVoiceKeepsItsLevelWhenDownMixed) {
  // A 0.5 sine only in the centre channel: mono must carry it at 0.5, not
  // divided among six or eight channels.
  struct Case {
    std::string layout, codec, ext;
    float tolerance;
  };
  const std::vector<Case> cases = {{"5.1", "pcm_s16le", "wav", 0.01f},
                                   {"7.1", "flac", "flac", 0.01f},
                                   {"5.1", "ac3", "ac3", 0.08f}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.layout + " " + c.codec);
    auto p = make("-f lavfi -i \"aevalsrc='0.5*sin(2*PI*500*t)':s=48000:d=2\" -af \"pan=" + c.layout +
                      "|FC=c0\" -c:a " + c.codec,
                  "centre-" + c.layout + "." + c.ext);
    auto pcm = decode(p);
    EXPECT_NEAR(seconds(pcm), 2.0, 0.06);
    EXPECT_NEAR(peak(slice(pcm, 0.3, 1.7)), 0.5f, c.tolerance);
  }
}

TEST_F(AudioReaderTest, EveryCommonCodecDecodes) {
  struct Case {
    std::string name, args, ext;
  };
  const std::vector<Case> cases = {
      {"telephone-mulaw", "-ar 8000 -c:a pcm_mulaw", "wav"},
      {"telephone-alaw", "-ar 8000 -c:a pcm_alaw", "wav"},
      {"telephone-pcm", "-ar 8000 -c:a pcm_s16le", "wav"},
      {"flac", "-ar 44100 -c:a flac", "flac"},
      {"mp2", "-ar 48000 -c:a mp2", "mp2"},
      {"ac3", "-ar 48000 -c:a ac3", "ac3"},
      {"opus", "-ar 48000 -c:a libopus", "opus"},
      {"vorbis", "-ar 44100 -c:a libvorbis", "ogg"},
      {"mp3", "-ar 44100 -c:a libmp3lame", "mp3"},
      {"aac-in-mp4", "-ar 44100 -c:a aac", "m4a"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto pcm = decode(make("-f lavfi -i \"sine=f=1000:r=48000:d=2\" " + c.args, c.name + "." + c.ext));
    EXPECT_NEAR(seconds(pcm), 2.0, 0.08);
    EXPECT_NEAR(frequency(slice(pcm, 0.2, 1.8)), 1000.0, 10.0);
    EXPECT_GT(peak(slice(pcm, 0.2, 1.8)), 0.05f);
  }
}

}  // namespace
}  // namespace sf::media
