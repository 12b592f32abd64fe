// Frame rates and SMPTE timecodes for editor exports.
//
// Editors count in frames, at a rate that is a ratio: 25/1, 30000/1001
// (29.97), 24000/1001 (23.976). A rate measured by a probe is a double
// (29.97002997...); frame_rate() snaps it to the ratio an editor expects.
//
// Timecode "HH:MM:SS:FF" names a frame by its nominal rate (the rate
// rounded: 30 for 29.97). At 29.97 and 59.94 a timecode counted that way
// drifts from the clock by 3.6 s an hour, so *drop-frame* timecode
// ("HH:MM:SS;FF", `;` before the frames) skips frame numbers 0 and 1 (0..3
// at 59.94) at the start of every minute except each tenth minute: frame
// 1800 at 29.97 is 00:01:00;02 and frame 17982 is 00:10:00;00. Only frame
// *labels* are dropped, never pictures. Every other rate is non-drop (`:`).
//
// Timecodes wrap at 24 hours, as on a tape deck: the label of frame
// 24 h + n is that of frame n. Negative frames are labelled 00:00:00:00.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::exports {

struct FrameRate {
  int num = 30, den = 1;  // frames per second = num / den; both > 0

  double fps() const { return static_cast<double>(num) / den; }
  // The frames counted per timecode second: 30 for 29.97, 24 for 23.976.
  int timebase() const { return (num + den / 2) / den; }
  // A 1000/1001 rate (29.97, 23.976, 59.94): "ntsc" in editors' files.
  bool ntsc() const { return den == 1001; }
  // Whether this rate's timecode is drop-frame: 30000/1001 and 60000/1001.
  bool drop_frame() const { return ntsc() && (timebase() == 30 || timebase() == 60); }
  bool operator==(const FrameRate&) const = default;
};

// The rate an editor expects for a measured `fps`: within 0.01 % of
// n * 1000/1001 (n = 24, 30, 48, 60, 120 and the rest) it is n*1000/1001;
// within 0.01 of a whole number n it is n/1. Anything else is the nearest
// ratio with denominator 1000 (e.g. 12.5 -> 12500/1000, reduced: 25/2).
// `fps` <= 0 or not finite: `fallback`.
FrameRate frame_rate(double fps, FrameRate fallback = {30, 1});

// The frame at `seconds` (rounded to the nearest frame; an exact half
// rounds up). Negative times give negative frames.
int64_t seconds_to_frames(double seconds, FrameRate rate);
// Seconds at the start of `frame`.
double frames_to_seconds(int64_t frame, FrameRate rate);

// The timecode label of `frame`: "HH:MM:SS;FF" where drop_frame (which
// needs rate.drop_frame(); otherwise it is ignored), else "HH:MM:SS:FF".
std::string frames_to_timecode(int64_t frame, FrameRate rate, bool drop_frame);
// Same, drop-frame exactly when rate.drop_frame().
inline std::string timecode(int64_t frame, FrameRate rate) {
  return frames_to_timecode(frame, rate, rate.drop_frame());
}

// The frame a timecode names, the inverse of frames_to_timecode(). Accepts
// "HH:MM:SS:FF" (non-drop) and "HH:MM:SS;FF", "HH:MM:SS.FF", "HH:MM:SS,FF"
// (drop-frame, as cameras and libav write it; at a rate that is not
// drop-frame the label is read as non-drop). Errors (kInvalidArgument,
// naming the text): not four fields of digits, minutes or seconds >= 60,
// frames >= timebase, a drop-frame label the count skips (00:01:00;00).
Result<int64_t> timecode_to_frames(std::string_view tc, FrameRate rate);

}  // namespace sf::exports
