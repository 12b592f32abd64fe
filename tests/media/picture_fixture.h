// Reading rendered pictures back for tests: raw yuv420p frames decoded by
// the ffmpeg CLI (a test-only tool; the product never runs ffmpeg), and
// small measurements on them.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sf::testing {

struct Yuv420Frame {
  int width = 0, height = 0;
  std::vector<unsigned char> y, u, v;  // planes; u and v at half size

  // Mean of a plane over the rectangle [x0,x1) x [y0,y1) in luma pixels.
  double mean(const std::vector<unsigned char>& plane, int x0, int y0, int x1, int y1) const {
    const bool chroma = &plane != &y;
    const int w = chroma ? width / 2 : width;
    if (chroma) {
      x0 /= 2, y0 /= 2, x1 /= 2, y1 /= 2;
    }
    double s = 0;
    long n = 0;
    for (int r = y0; r < y1; ++r) {
      for (int c = x0; c < x1; ++c, ++n) s += plane[static_cast<size_t>(r * w + c)];
    }
    return n > 0 ? s / static_cast<double>(n) : 0;
  }
};

// Every frame of `path`'s first video stream, as stored (no rotation
// applied), in yuv420p at its own size `width` x `height`.
inline std::vector<Yuv420Frame> read_frames(const std::string& path, int width, int height) {
  std::vector<Yuv420Frame> out;
  const std::string cmd = "ffmpeg -v error -noautorotate -i " + path +
                          " -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt yuv420p -";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  const size_t ysize = static_cast<size_t>(width) * static_cast<size_t>(height);
  for (;;) {
    Yuv420Frame f;
    f.width = width;
    f.height = height;
    f.y.resize(ysize);
    f.u.resize(ysize / 4);
    f.v.resize(ysize / 4);
    if (std::fread(f.y.data(), 1, ysize, p) != ysize || std::fread(f.u.data(), 1, ysize / 4, p) != ysize / 4 ||
        std::fread(f.v.data(), 1, ysize / 4, p) != ysize / 4) {
      break;
    }
    out.push_back(std::move(f));
  }
  pclose(p);
  return out;
}

// How much each line differs from the mean of its neighbours, averaged:
// large on interlaced pictures of motion (combing), small on progressive ones.
inline double combing(const Yuv420Frame& f) {
  double s = 0;
  long n = 0;
  for (int r = 1; r + 1 < f.height; ++r) {
    for (int c = 0; c < f.width; ++c, ++n) {
      const int a = f.y[static_cast<size_t>((r - 1) * f.width + c)];
      const int b = f.y[static_cast<size_t>(r * f.width + c)];
      const int d = f.y[static_cast<size_t>((r + 1) * f.width + c)];
      s += std::abs(2 * b - a - d) / 2.0;
    }
  }
  return n > 0 ? s / static_cast<double>(n) : 0;
}

// True when the ffmpeg CLI can encode with `encoder` (e.g. "libx265").
inline bool has_encoder(const std::string& encoder) {
  const std::string cmd = "ffmpeg -hide_banner -encoders 2>/dev/null | grep -qw " + encoder;
  return std::system(cmd.c_str()) == 0;
}

}  // namespace sf::testing
