#include "export/timecode.h"

#include <cmath>
#include <cstdio>
#include <numeric>

namespace sf::exports {
namespace {

// Frame numbers skipped at each dropping minute: 2 at 29.97, 4 at 59.94.
int64_t dropped_per_minute(FrameRate rate) { return rate.timebase() / 15; }

constexpr int64_t kDaySeconds = 24 * 3600;

}  // namespace

FrameRate frame_rate(double fps, FrameRate fallback) {
  if (!(fps > 0) || !std::isfinite(fps)) return fallback;
  const double nominal = std::round(fps * 1.001);
  if (nominal >= 1 && std::abs(fps - nominal * 1000.0 / 1001.0) <= 1e-4 * fps) {
    return {static_cast<int>(nominal) * 1000, 1001};
  }
  const double whole = std::round(fps);
  if (whole >= 1 && std::abs(fps - whole) <= 0.01) return {static_cast<int>(whole), 1};
  int num = static_cast<int>(std::llround(fps * 1000.0));
  if (num <= 0) return fallback;
  const int g = std::gcd(num, 1000);
  return {num / g, 1000 / g};
}

int64_t seconds_to_frames(double seconds, FrameRate rate) {
  // A time computed as 0.1 + 0.2 must land on its frame, not one short:
  // floor(x + 0.5) with a little slack for the binary fractions.
  return static_cast<int64_t>(std::floor(seconds * rate.num / rate.den + 0.5 + 1e-9));
}

double frames_to_seconds(int64_t frame, FrameRate rate) {
  return static_cast<double>(frame) * rate.den / rate.num;
}

std::string frames_to_timecode(int64_t frame, FrameRate rate, bool drop_frame) {
  const int64_t tb = rate.timebase();
  if (frame < 0) frame = 0;
  drop_frame = drop_frame && rate.drop_frame();
  if (drop_frame) {
    // Turn the frame count into a label count by adding back the labels
    // skipped before it: 9 dropping minutes per full ten minutes, and the
    // dropping minutes begun in the current ten.
    const int64_t drop = dropped_per_minute(rate);
    const int64_t per_minute = tb * 60 - drop;    // 1798 at 29.97
    const int64_t per_ten = per_minute * 10 + drop;  // 17982
    frame %= per_ten * 6 * 24;  // wrap at 24 h of labels
    const int64_t tens = frame / per_ten, rest = frame % per_ten;
    frame += 9 * drop * tens;
    if (rest > drop) frame += drop * ((rest - drop) / per_minute);
  }
  frame %= kDaySeconds * tb;
  const int64_t ff = frame % tb, secs = frame / tb;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld%c%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                drop_frame ? ';' : ':', static_cast<long long>(ff));
  return buf;
}

Result<int64_t> timecode_to_frames(std::string_view tc, FrameRate rate) {
  auto bad = [&](const char* why) {
    return invalid_argument("timecode \"" + std::string(tc) + "\": " + why);
  };
  int64_t field[4] = {0, 0, 0, 0};
  char sep = ':';
  size_t pos = 0;
  for (int f = 0; f < 4; ++f) {
    size_t digits = 0;
    while (pos < tc.size() && tc[pos] >= '0' && tc[pos] <= '9' && digits < 6) {
      field[f] = field[f] * 10 + (tc[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0) return bad("expected HH:MM:SS:FF");
    if (f < 3) {
      if (pos >= tc.size()) return bad("expected HH:MM:SS:FF");
      const char c = tc[pos++];
      if (f < 2 && c != ':') return bad("expected HH:MM:SS:FF");
      if (f == 2) {
        if (c != ':' && c != ';' && c != '.' && c != ',') return bad("expected HH:MM:SS:FF");
        sep = c;
      }
    }
  }
  if (pos != tc.size()) return bad("expected HH:MM:SS:FF");
  const int64_t hh = field[0], mm = field[1], ss = field[2], ff = field[3];
  const int64_t tb = rate.timebase();
  if (mm >= 60 || ss >= 60) return bad("minutes and seconds must be below 60");
  if (ff >= tb) return bad("frames must be below the frame rate");
  int64_t frames = (hh * 3600 + mm * 60 + ss) * tb + ff;
  if (sep != ':' && rate.drop_frame()) {
    const int64_t drop = dropped_per_minute(rate);
    if (ss == 0 && ff < drop && mm % 10 != 0) return bad("names a frame that drop-frame timecode skips");
    const int64_t minutes = hh * 60 + mm;
    frames -= drop * (minutes - minutes / 10);
  }
  return frames;
}

}  // namespace sf::exports
