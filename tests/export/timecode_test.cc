#include "export/timecode.h"

#include <gtest/gtest.h>

namespace sf::exports {
namespace {

constexpr FrameRate k2997{30000, 1001};
constexpr FrameRate k5994{60000, 1001};
constexpr FrameRate k25{25, 1};
constexpr FrameRate k30{30, 1};

TEST(ExportTimecode, SnapsMeasuredRates) {
  EXPECT_EQ(frame_rate(29.97002997), k2997);
  EXPECT_EQ(frame_rate(29.97), k2997);
  EXPECT_EQ(frame_rate(23.976), (FrameRate{24000, 1001}));
  EXPECT_EQ(frame_rate(59.94), k5994);
  EXPECT_EQ(frame_rate(25.0), k25);
  EXPECT_EQ(frame_rate(30.0), k30);
  EXPECT_EQ(frame_rate(24.0001), (FrameRate{24, 1}));
  EXPECT_EQ(frame_rate(12.5), (FrameRate{25, 2}));
  EXPECT_EQ(frame_rate(0), k30);
  EXPECT_EQ(frame_rate(-1, k25), k25);
  EXPECT_TRUE(k2997.drop_frame());
  EXPECT_TRUE(k5994.drop_frame());
  EXPECT_FALSE((FrameRate{24000, 1001}).drop_frame());
  EXPECT_FALSE(k30.drop_frame());
  EXPECT_EQ(k2997.timebase(), 30);
  EXPECT_EQ((FrameRate{24000, 1001}).timebase(), 24);
}

TEST(ExportTimecode, DropFrameAt2997) {
  EXPECT_EQ(timecode(0, k2997), "00:00:00;00");
  EXPECT_EQ(timecode(1799, k2997), "00:00:59;29");
  EXPECT_EQ(timecode(1800, k2997), "00:01:00;02");
  EXPECT_EQ(timecode(3597, k2997), "00:01:59;29");
  EXPECT_EQ(timecode(3598, k2997), "00:02:00;02");
  EXPECT_EQ(timecode(17981, k2997), "00:09:59;29");
  EXPECT_EQ(timecode(17982, k2997), "00:10:00;00");
  EXPECT_EQ(timecode(17982 + 1800, k2997), "00:11:00;02");
  // One hour of 29.97 is 107892 frames: the label is exactly 01:00:00;00.
  EXPECT_EQ(timecode(107892, k2997), "01:00:00;00");
  // The same frames non-drop.
  EXPECT_EQ(frames_to_timecode(1800, k2997, false), "00:01:00:00");
  EXPECT_EQ(frames_to_timecode(107892, k2997, false), "00:59:56:12");
}

TEST(ExportTimecode, DropFrameAt5994) {
  EXPECT_EQ(timecode(3599, k5994), "00:00:59;59");
  EXPECT_EQ(timecode(3600, k5994), "00:01:00;04");
  EXPECT_EQ(timecode(35964, k5994), "00:10:00;00");
  EXPECT_EQ(timecode(215784, k5994), "01:00:00;00");
}

TEST(ExportTimecode, NonDropAt25And30) {
  EXPECT_EQ(timecode(0, k25), "00:00:00:00");
  EXPECT_EQ(timecode(24, k25), "00:00:00:24");
  EXPECT_EQ(timecode(25, k25), "00:00:01:00");
  EXPECT_EQ(timecode(90000, k25), "01:00:00:00");
  EXPECT_EQ(timecode(1800, k30), "00:01:00:00");
  EXPECT_EQ(timecode(108000 + 29, k30), "01:00:00:29");
  EXPECT_EQ(timecode(86400LL * 24 + 3, FrameRate{24000, 1001}), "00:00:00:03");  // wraps at 24 h
  EXPECT_EQ(timecode(-5, k25), "00:00:00:00");
}

TEST(ExportTimecode, ParsesBackEveryLabel) {
  for (FrameRate r : {k2997, k5994, k25, k30, FrameRate{24000, 1001}, FrameRate{24, 1}}) {
    for (int64_t f : {0LL, 1LL, 2LL, 1799LL, 1800LL, 1801LL, 3597LL, 3598LL, 17982LL, 17983LL, 107891LL,
                      107892LL, 123456LL, 2000000LL}) {
      auto back = timecode_to_frames(timecode(f, r), r);
      ASSERT_TRUE(back.ok()) << timecode(f, r) << ": " << back.status().message();
      EXPECT_EQ(*back, f) << timecode(f, r) << " at " << r.num << "/" << r.den;
    }
  }
  EXPECT_EQ(*timecode_to_frames("01:00:00:00", k25), 90000);
  EXPECT_EQ(*timecode_to_frames("01:00:00;00", k2997), 107892);
  EXPECT_EQ(*timecode_to_frames("00:10:00.00", k2997), 17982);
  // A drop-frame separator at a rate that does not drop reads as non-drop.
  EXPECT_EQ(*timecode_to_frames("00:01:00;00", k30), 1800);
}

TEST(ExportTimecode, RejectsBadLabels) {
  for (const char* bad : {"", "1:2:3", "01:00:00", "aa:00:00:00", "00:60:00:00", "00:00:60:00", "00:00:00:25",
                          "00:00:00:00x", "00-00-00-00"}) {
    auto r = timecode_to_frames(bad, k25);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find(bad), std::string::npos);
    }
  }
  // Labels that drop-frame counting skips do not exist.
  EXPECT_FALSE(timecode_to_frames("00:01:00;00", k2997).ok());
  EXPECT_FALSE(timecode_to_frames("00:01:00;01", k2997).ok());
  EXPECT_TRUE(timecode_to_frames("00:10:00;00", k2997).ok());
}

TEST(ExportTimecode, SecondsToFrames) {
  EXPECT_EQ(seconds_to_frames(1.0, k25), 25);
  EXPECT_EQ(seconds_to_frames(0.1 + 0.2, k30), 9);
  EXPECT_EQ(seconds_to_frames(0.02, k25), 1);       // exact half rounds up
  EXPECT_EQ(seconds_to_frames(60.06, k2997), 1800);  // 1800 frames of 29.97 last 60.06 s
  EXPECT_EQ(seconds_to_frames(-1.0, k25), -25);
  EXPECT_DOUBLE_EQ(frames_to_seconds(1800, k2997), 60.06);
  EXPECT_DOUBLE_EQ(frames_to_seconds(25, k25), 1.0);
}

}  // namespace
}  // namespace sf::exports
