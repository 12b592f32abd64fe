#include "media/encode_floor.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "media/av.h"
#include "media/mp4_writer.h"
#include "media/render.h"

namespace sf::media {
namespace {

// The synthetic picture: a textured background (gradient, tiles, fine
// detail) whose lower half pans diagonally, and a box of other texture
// moving on its own path. Every frame differs from the last and motion
// search has real work, about as much as a busy talk picture gives it
// (measured: libx264 spends about the same CPU per frame on it as on the
// benchmark's testsrc2 talk, a little less). Frames are cut out of textures
// drawn once, so making one costs a few row copies, not arithmetic per
// pixel that would count against the encoder.
class Picture {
 public:
  Picture(int width, int height) : w_(width), h_(height) {
    tw_ = w_ + kPan;
    th_ = h_ + kPan;
    luma_.resize(static_cast<size_t>(tw_) * static_cast<size_t>(th_));
    for (int y = 0; y < th_; ++y) {
      for (int x = 0; x < tw_; ++x) {
        const bool tile = (((x / 40) * 7 + (y / 40) * 13) % 5) == 0;
        const int g = (x + 2 * y) % 200;
        const int detail = ((x * 31 + y * 17) >> 2) & 7;  // fine texture the encoder must keep
        luma_[static_cast<size_t>(y) * static_cast<size_t>(tw_) + static_cast<size_t>(x)] =
            static_cast<uint8_t>(tile ? 220 - g / 3 - detail : 20 + g + detail);
      }
    }
    const int cw = tw_ / 2, ch = th_ / 2;
    cb_.resize(static_cast<size_t>(cw) * static_cast<size_t>(ch));
    cr_.resize(cb_.size());
    for (int y = 0; y < ch; ++y) {
      for (int x = 0; x < cw; ++x) {
        const size_t i = static_cast<size_t>(y) * static_cast<size_t>(cw) + static_cast<size_t>(x);
        cb_[i] = static_cast<uint8_t>(64 + (x * 3 + y) % 128);
        cr_[i] = static_cast<uint8_t>(64 + (y * 2 + x / 2) % 128);
      }
    }
  }

  void draw(AVFrame* f, long long n) const {
    // The upper half stands still, the lower half pans.
    const int band = (h_ / 2) & ~1, still = h_ - band;
    const int dx = static_cast<int>((n * 2) % kPan) & ~1, dy = static_cast<int>(n % kPan) & ~1;
    copy_window(luma_.data(), tw_, f->data[0], f->linesize[0], 0, 0, w_, still);
    copy_window(cb_.data(), tw_ / 2, f->data[1], f->linesize[1], 0, 0, w_ / 2, still / 2);
    copy_window(cr_.data(), tw_ / 2, f->data[2], f->linesize[2], 0, 0, w_ / 2, still / 2);
    copy_window(luma_.data(), tw_, f->data[0] + static_cast<ptrdiff_t>(still) * f->linesize[0], f->linesize[0], dx,
                dy + still, w_, band);
    copy_window(cb_.data(), tw_ / 2, f->data[1] + static_cast<ptrdiff_t>(still / 2) * f->linesize[1],
                f->linesize[1], dx / 2, (dy + still) / 2, w_ / 2, band / 2);
    copy_window(cr_.data(), tw_ / 2, f->data[2] + static_cast<ptrdiff_t>(still / 2) * f->linesize[2],
                f->linesize[2], dx / 2, (dy + still) / 2, w_ / 2, band / 2);
    // The box: the same textures read backwards in time, on a bouncing path.
    const int bw = std::min(w_, h_) / 3 & ~1;
    if (bw < 8) return;
    const int px = bounce(n * 5, w_ - bw) & ~1, py = bounce(n * 3, h_ - bw) & ~1;
    const int sx = static_cast<int>((kPan - 1 - (n * 4) % kPan)) & ~1;
    for (int y = 0; y < bw; ++y) {
      std::memcpy(f->data[0] + static_cast<ptrdiff_t>(py + y) * f->linesize[0] + px,
                  luma_.data() + static_cast<size_t>(y + sx / 2) * static_cast<size_t>(tw_) + static_cast<size_t>(sx),
                  static_cast<size_t>(bw));
    }
  }

 private:
  static constexpr int kPan = 256;

  static int bounce(long long v, int range) {
    if (range <= 0) return 0;
    const long long p = v % (2LL * range);
    return static_cast<int>(p < range ? p : 2LL * range - p);
  }

  static void copy_window(const uint8_t* src, int src_stride, uint8_t* dst, int dst_stride, int x0, int y0, int w,
                          int h) {
    for (int y = 0; y < h; ++y) {
      std::memcpy(dst + static_cast<ptrdiff_t>(y) * dst_stride,
                  src + static_cast<size_t>(y + y0) * static_cast<size_t>(src_stride) + static_cast<size_t>(x0),
                  static_cast<size_t>(w));
    }
  }

  int w_, h_, tw_ = 0, th_ = 0;
  std::vector<uint8_t> luma_, cb_, cr_;
};

// The synthetic sound: speech-like babble (a voiced buzz with a wandering
// pitch and some breath noise, in 250 ms syllables, 3 s of talk then 1.2 s
// of silence), because the AAC encoder's cost depends on what it encodes: a
// pure tone costs it about half as much as the talks do; this costs a little
// less than they do. One 4.2 s cycle is made up front and looped.
class Sound {
 public:
  explicit Sound(int rate) {
    const size_t n = static_cast<size_t>(4.2 * rate);
    samples_.resize(n);
    uint32_t noise = 12345;
    double phase = 0;
    for (size_t i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / rate;
      const double f0 = 120 + 30 * std::sin(2 * M_PI * 0.7 * t) + 15 * std::sin(2 * M_PI * 3.1 * t);
      phase += 2 * M_PI * f0 / rate;
      double buzz = 0;
      for (int k = 1; k <= 15; ++k) buzz += std::sin(k * phase) / k;
      noise = noise * 1664525u + 1013904223u;
      const double breath = (static_cast<double>(noise >> 8) / (1u << 24) - 0.5) * 1.7;
      const double syllable = std::fmod(t, 0.25) / 0.25;
      const double env = t < 3.0 ? std::pow(std::sin(M_PI * syllable), 2) : 0.0;
      samples_[i] = static_cast<float>(0.25 * env * (buzz / 3 + 0.5 * breath));
    }
  }
  // Sample `i` of the endless loop.
  float at(long long i) const { return samples_[static_cast<size_t>(i % static_cast<long long>(samples_.size()))]; }

 private:
  std::vector<float> samples_;
};

class FloorEncoder {
 public:
  FloorEncoder(const EncodeFloorOptions& o, const Picture& picture, const Sound& sound)
      : opt_(o), picture_(picture), sound_(sound) {}

  Status run(const std::string& output, EncodeFloorResult* result) {
    const AVRational fps = av_d2q(opt_.fps, 100000);
    // The renderer's own output path and settings (media/render.cc).
    Mp4WriterOptions wo;
    wo.width = opt_.width;
    wo.height = opt_.height;
    wo.fps = fps;
    wo.encoder = opt_.encoder;
    wo.cpu_only = opt_.cpu_only;
    wo.audio = opt_.audio;
    wo.audio_rate = defaults_.audio_rate;
    wo.audio_bitrate = defaults_.audio_bitrate;
    SF_ASSIGN_OR_RETURN(writer_, Mp4Writer::open(output, wo));
    result->encoder = writer_->encoder().name;
    result->preset = writer_->encoder().preset;

    FramePtr frame = make_frame();
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = opt_.width;
    frame->height = opt_.height;
    int err = av_frame_get_buffer(frame.get(), 0);
    if (err < 0) return av_status(err, "allocating a frame");
    for (long long n = 0; n < opt_.frames; ++n) {
      err = av_frame_make_writable(frame.get());
      if (err < 0) return av_status(err, "frame buffer");
      picture_.draw(frame.get(), n);
      frame->pts = n;
      SF_RETURN_IF_ERROR(writer_->write_video(frame.get()));
      if (opt_.audio) {
        SF_RETURN_IF_ERROR(encode_audio_until(av_rescale_q(n + 1, av_inv_q(fps), AVRational{1, defaults_.audio_rate})));
      }
    }
    SF_RETURN_IF_ERROR(writer_->finish());
    writer_.reset();
    return {};
  }

 private:
  // Sends sound frames until `samples` have been sent (the last frame may be
  // short only at the very end, as in the renderer).
  Status encode_audio_until(long long samples) {
    const int fs = writer_->audio_frame_size();
    while (samples_sent_ + fs <= samples) {
      FramePtr f = make_frame();
      f->nb_samples = fs;
      f->format = AV_SAMPLE_FMT_FLTP;
      f->sample_rate = defaults_.audio_rate;
      AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
      av_channel_layout_copy(&f->ch_layout, &stereo);
      int err = av_frame_get_buffer(f.get(), 0);
      if (err < 0) return av_status(err, "audio frame");
      // Mono on both channels, as the talks are.
      auto* left = reinterpret_cast<float*>(f->data[0]);
      auto* right = reinterpret_cast<float*>(f->data[1]);
      for (int i = 0; i < fs; ++i) left[i] = right[i] = sound_.at(samples_sent_ + i);
      f->pts = samples_sent_;
      samples_sent_ += fs;
      SF_RETURN_IF_ERROR(writer_->write_audio(f.get()));
    }
    return {};
  }

  const EncodeFloorOptions& opt_;
  const Picture& picture_;
  const Sound& sound_;
  const RenderOptions defaults_;
  std::unique_ptr<Mp4Writer> writer_;
  long long samples_sent_ = 0;
};

}  // namespace

Result<EncodeFloorResult> encode_floor(const EncodeFloorOptions& options, const std::string& output) {
  install_log_bridge();
  if (options.frames <= 0) return invalid_argument("frames must be > 0");
  if (options.width < 16 || options.height < 16 || options.width > 8192 || options.height > 8192 ||
      options.width % 2 != 0 || options.height % 2 != 0) {
    return invalid_argument("size " + std::to_string(options.width) + "x" + std::to_string(options.height) +
                            " must be even and within 16..8192");
  }
  if (!(options.fps >= 1 && options.fps <= 240)) return invalid_argument("fps must be in 1..240");
  // The source material is made before the clock starts: the floor is the
  // encoders' time, not ours.
  const Picture picture(options.width, options.height);
  const Sound sound(RenderOptions{}.audio_rate);
  EncodeFloorResult result;
  const auto t0 = std::chrono::steady_clock::now();
  FloorEncoder enc(options, picture, sound);
  Status st = enc.run(output, &result);
  if (!st.ok()) return st;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.frames = options.frames;
  result.fps_encoded = result.seconds > 0 ? static_cast<double>(result.frames) / result.seconds : 0;
  return result;
}

}  // namespace sf::media
