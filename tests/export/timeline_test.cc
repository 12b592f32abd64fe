#include "export/timeline.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "export/xml_doc.h"

namespace sf::exports {
namespace {

constexpr FrameRate k2997{30000, 1001};

// Three sources: 25 fps video, 29.97 video with a drop-frame start
// timecode (and a comma in its name), and audio only.
Timeline sample(FrameRate record) {
  Timeline t;
  t.name = "budget cut";
  t.rate = record;
  t.width = 1280;
  t.height = 720;
  t.sources = {
      {"/media/talk_a.mp4", "", 20.0, true, 25.0, 640, 360, 48000, 2, ""},
      {"/media/Interview, take 1.mov", "", 30.0, true, 29.97002997, 1920, 1080, 48000, 2, "01:00:00;00"},
      {"/media/radio.m4a", "", 10.0, false, 0, 0, 0, 44100, 1, ""},
  };
  t.clips = {
      {0, 1.0, 3.5, 0.0, 2.5, "The budget was approved by the council today.", {"budget"}},
      {1, 10.01, 12.0, 2.5, 4.49, "Good evening & thank you.", {"evening"}},
      {2, 2.0, 4.0, 4.49, 6.49, "Nobody expected the budget to pass so quickly.", {"budget"}},
      {0, 5.2, 6.0, 6.49, 7.29, "Teachers say the new budget helps every school.", {"new", "budget"}},
  };
  return t;
}

// What each clip must be, computed here from the definitions: source
// frames at the source rate (plus its timecode), record frames at the
// sequence rate.
struct Expected {
  FrameRate src_rate;
  int64_t tc0, src_in, src_out, rec_in, rec_out;
};

int64_t round_frames(double s, FrameRate r) {
  return static_cast<int64_t>(std::floor(s * r.num / r.den + 0.5 + 1e-9));
}

std::vector<Expected> expected(const Timeline& t) {
  std::vector<Expected> out;
  for (const auto& c : t.clips) {
    const Source& s = t.sources[static_cast<size_t>(c.source)];
    Expected e;
    e.src_rate = s.has_video ? frame_rate(s.fps) : t.rate;
    e.tc0 = s.timecode.empty() ? 0 : *timecode_to_frames(s.timecode, e.src_rate);
    e.rec_in = round_frames(c.output_start, t.rate);
    e.rec_out = round_frames(c.output_end, t.rate);
    e.src_in = round_frames(c.start, e.src_rate);
    e.src_out = e.src_rate == t.rate ? e.src_in + (e.rec_out - e.rec_in) : round_frames(c.end, e.src_rate);
    out.push_back(e);
  }
  return out;
}

// ---- a small CMX 3600 reader ----

struct EdlEvent {
  int number = 0;
  std::string reel, channels, transition;
  std::string src_in, src_out, rec_in, rec_out;
  std::vector<std::string> comments;
};

struct Edl {
  std::string title, fcm;
  std::vector<EdlEvent> events;
  bool ok = true;
  std::string error;
};

Edl parse_edl(const std::string& text) {
  Edl e;
  std::istringstream in(text);
  std::string line;
  const std::regex event(
      R"(^(\d{3,}) +(\S{1,8}) +(V|A|AA|AA/V|B) +(C) +(\d\d:\d\d:\d\d[:;]\d\d) (\d\d:\d\d:\d\d[:;]\d\d) )"
      R"((\d\d:\d\d:\d\d[:;]\d\d) (\d\d:\d\d:\d\d[:;]\d\d)$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.empty()) continue;
    if (line.rfind("TITLE: ", 0) == 0) {
      e.title = line.substr(7);
    } else if (line.rfind("FCM: ", 0) == 0) {
      e.fcm = line.substr(5);
    } else if (line.rfind("* ", 0) == 0) {
      if (e.events.empty()) {
        e.ok = false;
        e.error = "comment before any event: " + line;
      } else {
        e.events.back().comments.push_back(line.substr(2));
      }
    } else if (std::regex_match(line, m, event)) {
      e.events.push_back({std::stoi(m[1]), m[2], m[3], m[4], m[5], m[6], m[7], m[8], {}});
    } else {
      e.ok = false;
      e.error = "not an EDL line: " + line;
    }
  }
  return e;
}

class ExportAtRate : public ::testing::TestWithParam<FrameRate> {};

TEST_P(ExportAtRate, EdlEventsMatchTheClips) {
  const Timeline t = sample(GetParam());
  const Edl edl = parse_edl(to_edl(t));
  ASSERT_TRUE(edl.ok) << edl.error;
  EXPECT_EQ(edl.title, "budget cut");
  EXPECT_EQ(edl.fcm, GetParam().drop_frame() ? "DROP FRAME" : "NON-DROP FRAME");
  const auto want = expected(t);
  ASSERT_EQ(edl.events.size(), t.clips.size());
  for (size_t k = 0; k < t.clips.size(); ++k) {
    const EdlEvent& ev = edl.events[k];
    const Expected& x = want[k];
    const Source& s = t.sources[static_cast<size_t>(t.clips[k].source)];
    SCOPED_TRACE("event " + std::to_string(k + 1));
    EXPECT_EQ(ev.number, static_cast<int>(k + 1));
    EXPECT_EQ(ev.channels, s.has_video ? "AA/V" : "AA");
    EXPECT_EQ(*timecode_to_frames(ev.src_in, x.src_rate), x.tc0 + x.src_in);
    EXPECT_EQ(*timecode_to_frames(ev.src_out, x.src_rate), x.tc0 + x.src_out);
    EXPECT_EQ(*timecode_to_frames(ev.rec_in, t.rate), x.rec_in);
    EXPECT_EQ(*timecode_to_frames(ev.rec_out, t.rate), x.rec_out);
    // Drop-frame labels exactly where the rate drops.
    EXPECT_EQ(ev.src_in[8] == ';', x.src_rate.drop_frame());
    EXPECT_EQ(ev.rec_in[8] == ';', t.rate.drop_frame());
    ASSERT_GE(ev.comments.size(), 1u);
    EXPECT_EQ(ev.comments[0], "FROM CLIP NAME: " + s.path.substr(s.path.rfind('/') + 1));
    if (k > 0) {
      EXPECT_EQ(ev.rec_in, edl.events[k - 1].rec_out);  // contiguous
    }
  }
  EXPECT_EQ(edl.events[0].reel, "TALK_A");
  EXPECT_EQ(edl.events[1].reel, "INTERVIE");
  EXPECT_EQ(edl.events[2].reel, "RADIO");
  EXPECT_EQ(edl.events[3].reel, "TALK_A");
  // The 29.97 source starts at 01:00:00;00: 10.01 s in is 01:00:10;00.
  EXPECT_EQ(edl.events[1].src_in, "01:00:10;00");
}

TEST_P(ExportAtRate, Fcp7XmlHasWhatEditorsImport) {
#ifndef SF_HAVE_LIBXML2
  GTEST_SKIP() << "libxml2 not found at build time";
#else
  const Timeline t = sample(GetParam());
  const std::string text = to_fcp7_xml(t);
  testing::XmlDoc d(text);
  ASSERT_TRUE(d.ok()) << text;
  EXPECT_EQ(d.one("/xmeml/@version"), "5");
  EXPECT_EQ(d.one("/xmeml/sequence/name"), "budget cut");
  EXPECT_EQ(d.one("/xmeml/sequence/rate/timebase"), std::to_string(GetParam().timebase()));
  EXPECT_EQ(d.one("/xmeml/sequence/rate/ntsc"), GetParam().ntsc() ? "TRUE" : "FALSE");
  EXPECT_EQ(d.one("/xmeml/sequence/media/video/format/samplecharacteristics/width"), "1280");
  EXPECT_EQ(d.one("/xmeml/sequence/media/video/format/samplecharacteristics/height"), "720");
  const auto want = expected(t);
  EXPECT_EQ(d.one("/xmeml/sequence/duration"), std::to_string(want.back().rec_out));
  // Video: the clips of sources with pictures; audio: every clip.
  EXPECT_EQ(d.count("/xmeml/sequence/media/video/track/clipitem"), 3u);
  ASSERT_EQ(d.count("/xmeml/sequence/media/audio/track/clipitem"), 4u);
  for (size_t k = 0; k < t.clips.size(); ++k) {
    SCOPED_TRACE("clip " + std::to_string(k + 1));
    const std::string item = "/xmeml/sequence/media/audio/track/clipitem[" + std::to_string(k + 1) + "]";
    const Expected& x = want[k];
    EXPECT_EQ(d.one(item + "/start"), std::to_string(x.rec_in));
    EXPECT_EQ(d.one(item + "/end"), std::to_string(x.rec_out));
    EXPECT_EQ(d.one(item + "/in"), std::to_string(x.src_in));  // from the media's first frame
    EXPECT_EQ(d.one(item + "/out"), std::to_string(x.src_out));
    EXPECT_EQ(d.one(item + "/rate/timebase"), std::to_string(x.src_rate.timebase()));
    EXPECT_EQ(d.one(item + "/file/@id"), "file-" + std::to_string(t.clips[k].source + 1));
    EXPECT_EQ(d.one(item + "/sourcetrack/mediatype"), "audio");
  }
  // Each file is described once, with a URL, its rate, timecode and media.
  EXPECT_EQ(d.count("//file[pathurl]"), 3u);
  EXPECT_EQ(d.one("//file[@id='file-2']/pathurl"), "file://localhost/media/Interview%2C%20take%201.mov");
  EXPECT_EQ(d.one("//file[@id='file-2']/timecode/string"), "01:00:00;00");
  EXPECT_EQ(d.one("//file[@id='file-2']/timecode/frame"), "107892");
  EXPECT_EQ(d.one("//file[@id='file-2']/timecode/displayformat"), "DF");
  EXPECT_EQ(d.one("//file[@id='file-2']/duration"), "899");  // 30 s at 29.97
  EXPECT_EQ(d.one("//file[@id='file-1']/media/video/samplecharacteristics/width"), "640");
  EXPECT_EQ(d.one("//file[@id='file-3']/media/audio/samplecharacteristics/samplerate"), "44100");
  EXPECT_EQ(d.count("//file[@id='file-3']/media/video"), 0u);
#endif
}

// "1001/30000s" -> {1001, 30000}; "3s" -> {3, 1}.
std::pair<int64_t, int64_t> parse_rational(const std::string& s) {
  long long n = 0, dd = 1;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%lld/%lld%c", &n, &dd, &tail) == 3 && tail == 's') return {n, dd};
  if (std::sscanf(s.c_str(), "%lld%c", &n, &tail) == 2 && tail == 's') return {n, 1};
  ADD_FAILURE() << "not an FCPXML time: " << s;
  return {0, 1};
}
// Whether FCPXML time `s` is exactly `frames` at `rate`.
bool same_time(const std::string& s, int64_t frames, FrameRate rate) {
  auto [n, dd] = parse_rational(s);
  return n * rate.num == frames * rate.den * dd;
}

TEST_P(ExportAtRate, FcpxmlHasWhatFinalCutImports) {
#ifndef SF_HAVE_LIBXML2
  GTEST_SKIP() << "libxml2 not found at build time";
#else
  const Timeline t = sample(GetParam());
  const std::string text = to_fcpxml(t);
  testing::XmlDoc d(text);
  ASSERT_TRUE(d.ok()) << text;
  EXPECT_EQ(d.one("/fcpxml/@version"), "1.10");
  const std::string seq = "/fcpxml/library/event/project/sequence";
  const std::string fmt = d.one(seq + "/@format");
  EXPECT_EQ(d.count("/fcpxml/resources/format[@id='" + fmt + "']"), 1u);
  EXPECT_TRUE(same_time(d.one("/fcpxml/resources/format[@id='" + fmt + "']/@frameDuration"), 1, GetParam()));
  EXPECT_EQ(d.one("/fcpxml/resources/format[@id='" + fmt + "']/@width"), "1280");
  EXPECT_EQ(d.one(seq + "/@tcFormat"), GetParam().drop_frame() ? "DF" : "NDF");
  // Every id is unique, every reference resolves.
  auto ids = d.all("/fcpxml/resources/*/@id");
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
  EXPECT_EQ(d.count("/fcpxml/resources/asset"), 3u);
  EXPECT_EQ(d.count("/fcpxml/resources/asset/media-rep[@kind='original-media']"), 3u);
  const auto want = expected(t);
  ASSERT_EQ(d.count(seq + "/spine/asset-clip"), 4u);
  for (size_t k = 0; k < t.clips.size(); ++k) {
    SCOPED_TRACE("clip " + std::to_string(k + 1));
    const std::string clip = seq + "/spine/asset-clip[" + std::to_string(k + 1) + "]";
    const Expected& x = want[k];
    const std::string ref = d.one(clip + "/@ref");
    EXPECT_EQ(d.count("/fcpxml/resources/asset[@id='" + ref + "']"), 1u);
    EXPECT_TRUE(same_time(d.one(clip + "/@offset"), x.rec_in, t.rate)) << d.one(clip + "/@offset");
    EXPECT_TRUE(same_time(d.one(clip + "/@duration"), x.rec_out - x.rec_in, t.rate));
    // start is in the asset's own time, which begins at its timecode.
    EXPECT_TRUE(same_time(d.one(clip + "/@start"), x.tc0 + x.src_in, x.src_rate)) << d.one(clip + "/@start");
  }
  const std::string tc_asset = "/fcpxml/resources/asset[@name='Interview, take 1.mov']";
  EXPECT_TRUE(same_time(d.one(tc_asset + "/@start"), 107892, k2997)) << d.one(tc_asset + "/@start");
  EXPECT_EQ(d.one(tc_asset + "/media-rep/@src"), "file:///media/Interview%2C%20take%201.mov");
  EXPECT_EQ(d.one("/fcpxml/resources/asset[@name='radio.m4a']/@hasVideo"), "0");
  EXPECT_TRUE(same_time(d.one(seq + "/@duration"), want.back().rec_out, t.rate));
  if (GetParam() == k2997) {
    EXPECT_NE(text.find("frameDuration=\"1001/30000s\""), std::string::npos);
  }
#endif
}

TEST_P(ExportAtRate, OtioTimelineMatchesTheClips) {
  const Timeline t = sample(GetParam());
  const auto j = nlohmann::json::parse(to_otio(t));
  EXPECT_EQ(j["OTIO_SCHEMA"], "Timeline.1");
  EXPECT_EQ(j["tracks"]["OTIO_SCHEMA"], "Stack.1");
  const auto& tracks = j["tracks"]["children"];
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0]["OTIO_SCHEMA"], "Track.1");
  EXPECT_EQ(tracks[0]["kind"], "Video");
  EXPECT_EQ(tracks[1]["kind"], "Audio");
  const auto& video = tracks[0]["children"];
  const auto& audio = tracks[1]["children"];
  ASSERT_EQ(video.size(), 4u);
  ASSERT_EQ(audio.size(), 4u);
  EXPECT_EQ(video[2]["OTIO_SCHEMA"], "Gap.1");  // the audio-only clip
  const auto want = expected(t);
  for (size_t k = 0; k < t.clips.size(); ++k) {
    SCOPED_TRACE("clip " + std::to_string(k + 1));
    const auto& c = audio[k];
    const Expected& x = want[k];
    EXPECT_EQ(c["OTIO_SCHEMA"], "Clip.2");
    const auto& r = c["source_range"];
    EXPECT_EQ(r["OTIO_SCHEMA"], "TimeRange.1");
    EXPECT_EQ(r["start_time"]["OTIO_SCHEMA"], "RationalTime.1");
    EXPECT_DOUBLE_EQ(r["start_time"]["rate"].get<double>(), x.src_rate.fps());
    EXPECT_DOUBLE_EQ(r["start_time"]["value"].get<double>(), static_cast<double>(x.tc0 + x.src_in));
    EXPECT_DOUBLE_EQ(r["duration"]["value"].get<double>(), static_cast<double>(x.src_out - x.src_in));
    const auto& ref = c["media_references"][c["active_media_reference_key"].get<std::string>()];
    EXPECT_EQ(ref["OTIO_SCHEMA"], "ExternalReference.1");
    EXPECT_EQ(ref["target_url"].get<std::string>().rfind("file:///media/", 0), 0u);
    EXPECT_DOUBLE_EQ(ref["available_range"]["start_time"]["value"].get<double>(), static_cast<double>(x.tc0));
    if (t.sources[static_cast<size_t>(t.clips[k].source)].has_video) {
      EXPECT_EQ(video[k], c);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rates, ExportAtRate,
                         ::testing::Values(FrameRate{25, 1}, FrameRate{30, 1}, FrameRate{30000, 1001}),
                         [](const ::testing::TestParamInfo<FrameRate>& p) {
                           return p.param.den == 1 ? "fps" + std::to_string(p.param.num) : std::string("fps2997");
                         });

TEST(ExportEdl, HeaderAndFirstEventAt25) {
  const std::string edl = to_edl(sample({25, 1}));
  EXPECT_EQ(edl.rfind("TITLE: budget cut\nFCM: NON-DROP FRAME\n\n", 0), 0u) << edl;
  EXPECT_NE(edl.find("001  TALK_A   AA/V  C        00:00:01:00 00:00:03:13 00:00:00:00 00:00:02:13\n"
                     "* FROM CLIP NAME: talk_a.mp4\n* SOURCE FILE: /media/talk_a.mp4\n"),
            std::string::npos)
      << edl;
}

TEST(ExportEdl, ReelNames) {
  EXPECT_EQ(reel_name("/x/talk_a.mp4"), "TALK_A");
  EXPECT_EQ(reel_name("Interview, take 1.mov"), "INTERVIE");
  EXPECT_EQ(reel_name("a b-c.d.mp4"), "A_B_C_D");
  EXPECT_EQ(reel_name("/x/ünï.mp4"), "N");
  EXPECT_EQ(reel_name("/x/%%%.mp4"), "AX");
  EXPECT_EQ(reel_name("https://host/v/clip01.mp4?sig=1"), "CLIP01");
  // Two sources with the same reel name get distinct ones.
  Timeline t = sample({25, 1});
  t.sources[2].path = "/other/talk_a.wav";
  const Edl e = parse_edl(to_edl(t));
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.events[0].reel, "TALK_A");
  EXPECT_EQ(e.events[2].reel, "TALK_2");
}

TEST(ExportEdl, DropFrameRecordAt2997) {
  // Record positions past a minute land on drop-frame labels.
  Timeline t = sample(k2997);
  t.clips = {{0, 0.0, 61.0, 0.0, 61.0, "", {"x"}}};
  t.sources[0].duration = 120;
  const Edl e = parse_edl(to_edl(t));
  ASSERT_TRUE(e.ok) << e.error;
  EXPECT_EQ(e.fcm, "DROP FRAME");
  // 61 s of 29.97 is 1828 frames (rounded), labelled 00:01:01;00.
  EXPECT_EQ(*timecode_to_frames(e.events[0].rec_out, k2997), 1828);
  EXPECT_EQ(e.events[0].rec_out, "00:01:01;00");
}

TEST(ExportFormats, NamesExtensionsAndErrors) {
  EXPECT_EQ(*format_for_path("cut.edl"), Format::kEdl);
  EXPECT_EQ(*format_for_path("CUT.EDL"), Format::kEdl);
  EXPECT_EQ(*format_for_path("dir.x/cut.mpv.edl"), Format::kMpvEdl);
  EXPECT_EQ(*format_for_path("cut.xml"), Format::kFcp7Xml);
  EXPECT_EQ(*format_for_path("cut.fcpxml"), Format::kFcpxml);
  EXPECT_EQ(*format_for_path("cut.otio"), Format::kOtio);
  EXPECT_EQ(*format_for_path("cut.srt"), Format::kSrt);
  EXPECT_EQ(*format_for_path("cut.vtt"), Format::kVtt);
  for (const char* bad : {"cut.mp4", "cut", ".edl", "edl", "cut.edl.bak"}) {
    auto r = format_for_path(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("fcpxml (.fcpxml)"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(*parse_format("EDL"), Format::kEdl);
  EXPECT_EQ(*parse_format("xml"), Format::kFcp7Xml);
  EXPECT_EQ(*parse_format(".mpv.edl"), Format::kMpvEdl);
  EXPECT_EQ(*parse_format("mpv"), Format::kMpvEdl);
  auto bad = parse_format("avid");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'avid'"), std::string::npos);
  for (Format f : all_formats()) EXPECT_EQ(*parse_format(format_name(f)), f);
}

// mpv EDL lines: "path,start,length" where path may be "%N%" + N bytes.
struct MpvEntry {
  std::string path;
  double start = 0, length = 0;
};
std::vector<MpvEntry> parse_mpv(const std::string& text, std::string* header) {
  std::vector<MpvEntry> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, *header);
  while (std::getline(in, line)) {
    MpvEntry e;
    size_t pos = 0;
    if (line[0] == '%') {
      const size_t close = line.find('%', 1);
      const size_t n = std::stoul(line.substr(1, close - 1));
      e.path = line.substr(close + 1, n);
      pos = close + 1 + n;
    } else {
      pos = line.find(',');
      e.path = line.substr(0, pos);
    }
    EXPECT_EQ(line[pos], ',') << line;
    EXPECT_EQ(std::sscanf(line.c_str() + pos, ",%lf,%lf", &e.start, &e.length), 2) << line;
    out.push_back(e);
  }
  return out;
}

TEST(ExportMpv, EdlPlaysTheClips) {
  Timeline t = sample({25, 1});
  t.sources[2].path = "/media/100%;=x.m4a";
  std::string header;
  const auto entries = parse_mpv(to_mpv_edl(t), &header);
  EXPECT_EQ(header, "# mpv EDL v0");
  ASSERT_EQ(entries.size(), t.clips.size());
  for (size_t k = 0; k < entries.size(); ++k) {
    const Clip& c = t.clips[k];
    EXPECT_EQ(entries[k].path, t.sources[static_cast<size_t>(c.source)].path);
    EXPECT_NEAR(entries[k].start, c.start, 1e-6);
    EXPECT_NEAR(entries[k].length, c.end - c.start, 1e-6);
  }
  const std::string text = to_mpv_edl(t);
  EXPECT_NE(text.find("\n%28%/media/Interview, take 1.mov,10.010000,1.990000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n/media/talk_a.mp4,1.000000,2.500000\n"), std::string::npos) << text;
}

TEST(ExportSubtitles, SrtAndVttCuesAtOutputTimes) {
  const Timeline t = sample({25, 1});
  const std::string srt = to_srt(t);
  EXPECT_EQ(srt.rfind("1\n00:00:00,000 --> 00:00:02,500\nThe <b>budget</b> was approved by the council today.\n\n", 0),
            0u)
      << srt;
  EXPECT_NE(srt.find("2\n00:00:02,500 --> 00:00:04,490\nGood <b>evening</b> & thank you.\n\n"), std::string::npos)
      << srt;
  EXPECT_NE(srt.find("4\n00:00:06,490 --> 00:00:07,290\nTeachers say the <b>new</b> <b>budget</b> helps every school.\n"),
            std::string::npos)
      << srt;
  const std::string vtt = to_vtt(t);
  EXPECT_EQ(vtt.rfind("WEBVTT\n\n1\n00:00:00.000 --> 00:00:02.500\nThe <b>budget</b> was", 0), 0u) << vtt;
  EXPECT_NE(vtt.find("Good <b>evening</b> &amp; thank you."), std::string::npos) << vtt;
  // Cue count: one per clip.
  size_t cues = 0;
  for (size_t p = vtt.find(" --> "); p != std::string::npos; p = vtt.find(" --> ", p + 1)) ++cues;
  EXPECT_EQ(cues, t.clips.size());
}

TEST(ExportSubtitles, HighlightsWordsWithPunctuationAndCase) {
  Clip c{0, 0, 1, 0, 1, "Budget, budgets and \"BUDGET!\" <now>", {"budget"}};
  EXPECT_EQ(highlighted_text(c, true), "<b>Budget</b>, budgets and \"<b>BUDGET</b>!\" &lt;now&gt;");
  EXPECT_EQ(highlighted_text(c, false), "<b>Budget</b>, budgets and \"<b>BUDGET</b>!\" now");
  Clip empty{0, 0, 1, 0, 1, "", {"well", "known"}};
  EXPECT_EQ(highlighted_text(empty, true), "<b>well</b> <b>known</b>");
}

TEST(ExportTimecodeOffset, SourceStartTimecodeOffsetsEveryEditorFormat) {
  // The same clip without and with a start timecode of 10:00:00:00 at 25.
  Timeline t = sample({25, 1});
  t.clips.resize(1);
  const Edl plain = parse_edl(to_edl(t));
  t.sources[0].timecode = "10:00:00:00";
  const Edl offset = parse_edl(to_edl(t));
  ASSERT_TRUE(plain.ok && offset.ok);
  EXPECT_EQ(plain.events[0].src_in, "00:00:01:00");
  EXPECT_EQ(offset.events[0].src_in, "10:00:01:00");
  EXPECT_EQ(offset.events[0].src_out, "10:00:03:13");
  EXPECT_EQ(offset.events[0].rec_in, "00:00:00:00");  // the record side is the output's
  EXPECT_EQ(source_start_frame(t, t.sources[0]), 900000);
  const auto otio = nlohmann::json::parse(to_otio(t));
  EXPECT_DOUBLE_EQ(otio["tracks"]["children"][0]["children"][0]["source_range"]["start_time"]["value"].get<double>(),
                   900025.0);
  // A timecode that cannot be read at the source's rate counts as none.
  t.sources[0].timecode = "10:00:00:29";
  EXPECT_EQ(source_start_frame(t, t.sources[0]), 0);
#ifdef SF_HAVE_LIBXML2
  t.sources[0].timecode = "10:00:00:00";
  testing::XmlDoc fcpx(to_fcpxml(t));
  ASSERT_TRUE(fcpx.ok());
  EXPECT_EQ(fcpx.one("//asset-clip/@start"), "36001s");
  EXPECT_EQ(fcpx.one("//asset/@start"), "36000s");
  testing::XmlDoc fcp7(to_fcp7_xml(t));
  ASSERT_TRUE(fcp7.ok());
  EXPECT_EQ(fcp7.one("//file/timecode/string"), "10:00:00:00");
  EXPECT_EQ(fcp7.one("//file/timecode/frame"), "900000");
  EXPECT_EQ(fcp7.one("//video/track/clipitem/in"), "25");
#endif
}

TEST(ExportXml, NamesAreEscapedAndUrlsEncoded) {
#ifndef SF_HAVE_LIBXML2
  GTEST_SKIP() << "libxml2 not found at build time";
#else
  Timeline t = sample({25, 1});
  t.name = "Q&A <live> \"2024\"";
  t.sources[0].path = "/media/r&d <1>.mp4";
  for (Format f : {Format::kFcp7Xml, Format::kFcpxml}) {
    testing::XmlDoc d(render(t, f));
    ASSERT_TRUE(d.ok()) << render(t, f);
  }
  testing::XmlDoc d(to_fcp7_xml(t));
  EXPECT_EQ(d.one("/xmeml/sequence/name"), "Q&A <live> \"2024\"");
  EXPECT_EQ(d.one("//file[@id='file-1']/name"), "r&d <1>.mp4");
  EXPECT_EQ(d.one("//file[@id='file-1']/pathurl"), "file://localhost/media/r%26d%20%3C1%3E.mp4");
  EXPECT_EQ(file_url("https://h/x.mp4?a=1"), "https://h/x.mp4?a=1");
#endif
}

TEST(ExportTimeline, EmptyAndDefaults) {
  Timeline t;
  t.sources = {{"/a.m4a", "", 0, false, 0, 0, 0, 0, 0, ""}};
  t.clips = {{0, 0.5, 1.5, 0, 1, "", {"hi"}}};
  EXPECT_EQ(sequence_rate(t), (FrameRate{30, 1}));
  for (Format f : all_formats()) EXPECT_FALSE(render(t, f).empty()) << format_name(f);
  t.sources.push_back({"/b.mp4", "", 0, true, 23.976, 0, 0, 0, 0, ""});
  EXPECT_EQ(sequence_rate(t), (FrameRate{24000, 1001}));
}

}  // namespace
}  // namespace sf::exports
