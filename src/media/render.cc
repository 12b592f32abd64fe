#include "media/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/cancel.h"
#include "core/files.h"
#include "core/log.h"
#include "media/av.h"
#include "media/mp4_writer.h"

namespace sf::media {
namespace {

// One open input: demuxer, decoders and converters, reused by consecutive
// clips of the same file.
struct Source {
  std::string path;
  InputFormatPtr fmt;
  int vstream = -1, astream = -1;
  CodecContextPtr vdec, adec;
  SwsPtr sws;
  int sws_w = 0, sws_h = 0, sws_fmt = -1;
  SwrPtr swr;
};

Result<std::unique_ptr<Source>> open_source(const std::string& path) {
  auto s = std::make_unique<Source>();
  s->path = path;
  SF_ASSIGN_OR_RETURN(s->fmt, open_input(path));
  s->vstream = av_find_best_stream(s->fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (s->vstream >= 0 && (s->fmt->streams[s->vstream]->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) {
    s->vstream = -1;  // cover art is not a picture track
  }
  s->astream = av_find_best_stream(s->fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (s->vstream < 0 && s->astream < 0) return bad_media(path + ": has neither video nor audio");
  for (unsigned i = 0; i < s->fmt->nb_streams; ++i) {
    bool used = static_cast<int>(i) == s->vstream || static_cast<int>(i) == s->astream;
    s->fmt->streams[i]->discard = used ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  if (s->vstream >= 0) {
    SF_ASSIGN_OR_RETURN(s->vdec, open_decoder(s->fmt.get(), s->vstream, 0));
  }
  if (s->astream >= 0) {
    SF_ASSIGN_OR_RETURN(s->adec, open_decoder(s->fmt.get(), s->astream, 1));
  }
  return s;
}

class Renderer {
 public:
  Renderer(const RenderOptions& o, const RenderProgressFn& p) : opt_(o), progress_(p) {}

  Status open_output(const std::string& tmp, int w, int h, AVRational fps) {
    width_ = w;
    height_ = h;
    fps_ = fps;
    Mp4WriterOptions wo;
    wo.width = w;
    wo.height = h;
    wo.fps = fps;
    wo.encoder = opt_.encoder;
    wo.cpu_only = opt_.cpu_only;
    wo.audio_rate = opt_.audio_rate;
    wo.audio_bitrate = opt_.audio_bitrate;
    SF_ASSIGN_OR_RETURN(writer_, Mp4Writer::open(tmp, wo));
    result_.encoder = writer_->encoder().name;
    result_.preset = writer_->encoder().preset;
    fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, writer_->audio_frame_size() * 4));
    canvas_ = make_frame();
    canvas_->format = AV_PIX_FMT_YUV420P;
    canvas_->width = w;
    canvas_->height = h;
    int err = av_frame_get_buffer(canvas_.get(), 0);
    if (err < 0) return av_status(err, "allocating a frame");
    fill_black(canvas_.get());
    return {};
  }

  void set_total(double seconds) { total_seconds_ = seconds; }

  Status render_clip(Source& src, const RenderClip& clip) {
    const double dur = clip.end - clip.start;
    const long long f0 = frames_written_;
    const long long nframes = std::max<long long>(1, std::llround(dur * av_q2d(fps_)));
    const long long f1 = f0 + nframes;
    // Audio length follows the frames, so sync never drifts.
    const long long a0 = samples_for_frames(f0), a1 = samples_for_frames(f1);
    clip_audio_.assign(2, std::vector<float>(static_cast<size_t>(a1 - a0), 0.0f));

    RenderedClip rc;
    rc.output_start = static_cast<double>(f0) / av_q2d(fps_);
    rc.output_end = static_cast<double>(f1) / av_q2d(fps_);
    rc.frames = nframes;

    SF_RETURN_IF_ERROR(decode_range(src, clip, nframes));
    SF_RETURN_IF_ERROR(push_audio());
    result_.clips.push_back(rc);
    return {};
  }

  Status finish(const std::string& tmp, const std::string& output) {
    SF_RETURN_IF_ERROR(flush_audio(true));
    SF_RETURN_IF_ERROR(writer_->finish());
    writer_.reset();
    SF_RETURN_IF_ERROR(commit_file(tmp, output));
    result_.width = width_;
    result_.height = height_;
    result_.fps = av_q2d(fps_);
    result_.frames = frames_written_;
    result_.duration = static_cast<double>(frames_written_) / av_q2d(fps_);
    return {};
  }

  RenderResult& result() { return result_; }

 private:
  long long samples_for_frames(long long f) const {
    return av_rescale_q(f, av_inv_q(fps_), AVRational{1, opt_.audio_rate});
  }

  static void fill_black(AVFrame* f) {
    for (int y = 0; y < f->height; ++y) std::memset(f->data[0] + y * f->linesize[0], 16, static_cast<size_t>(f->width));
    for (int y = 0; y < f->height / 2; ++y) {
      std::memset(f->data[1] + y * f->linesize[1], 128, static_cast<size_t>(f->width / 2));
      std::memset(f->data[2] + y * f->linesize[2], 128, static_cast<size_t>(f->width / 2));
    }
  }

  // Scales `src` into the canvas, letterboxed to keep its aspect ratio.
  Status convert_frame(Source& s, const AVFrame* src) {
    AVRational sar = src->sample_aspect_ratio.num > 0 ? src->sample_aspect_ratio : AVRational{1, 1};
    double src_aspect = src->width * av_q2d(sar) / src->height;
    int w = width_, h = height_;
    if (src_aspect > static_cast<double>(width_) / height_) {
      h = std::min(height_, static_cast<int>(std::lround(width_ / src_aspect)) & ~1);
    } else {
      w = std::min(width_, static_cast<int>(std::lround(height_ * src_aspect)) & ~1);
    }
    if (!s.sws || s.sws_w != src->width || s.sws_h != src->height || s.sws_fmt != src->format) {
      s.sws.reset(sws_getContext(src->width, src->height, static_cast<AVPixelFormat>(src->format), w, h,
                                 AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr, nullptr));
      if (!s.sws) return bad_media(s.path + ": cannot convert its picture format");
      s.sws_w = src->width;
      s.sws_h = src->height;
      s.sws_fmt = src->format;
      fill_black(canvas_.get());
    }
    int err = av_frame_make_writable(canvas_.get());
    if (err < 0) return av_status(err, "frame buffer");
    if (w != width_ || h != height_) fill_black(canvas_.get());
    const int x0 = ((width_ - w) / 2) & ~1, y0 = ((height_ - h) / 2) & ~1;
    uint8_t* dst[4] = {canvas_->data[0] + y0 * canvas_->linesize[0] + x0,
                       canvas_->data[1] + (y0 / 2) * canvas_->linesize[1] + x0 / 2,
                       canvas_->data[2] + (y0 / 2) * canvas_->linesize[2] + x0 / 2, nullptr};
    sws_scale(s.sws.get(), src->data, src->linesize, 0, src->height, dst, canvas_->linesize);
    return {};
  }

  Status emit_canvas() {
    if (stop_requested(opt_.cancel)) return cancelled("rendering stopped on request; no output written");
    canvas_->pts = frames_written_++;
    SF_RETURN_IF_ERROR(encode_video(canvas_.get()));
    // Two AAC frames per picture outpace the audio at 24 fps and up, so the
    // previous clip's queued audio is done within this one (at lower rates
    // the rest waits for finish()).
    for (int k = 0; k < 2 && av_audio_fifo_size(fifo_.get()) >= writer_->audio_frame_size(); ++k) {
      SF_RETURN_IF_ERROR(encode_audio_frame(writer_->audio_frame_size()));
    }
    if (progress_) progress_(static_cast<double>(frames_written_) / av_q2d(fps_), total_seconds_);
    return {};
  }

  Status encode_video(const AVFrame* f) { return writer_->write_video(f); }


  // Places converted samples at their time inside the clip's buffer.
  void place_audio(const float* const* planes, int n, double t_first, double clip_start) {
    auto pos = static_cast<long long>(std::llround((t_first - clip_start) * opt_.audio_rate));
    const auto len = static_cast<long long>(clip_audio_[0].size());
    for (int c = 0; c < 2; ++c) {
      for (int i = 0; i < n; ++i) {
        long long p = pos + i;
        if (p >= 0 && p < len) clip_audio_[static_cast<size_t>(c)][static_cast<size_t>(p)] = planes[c][i];
      }
    }
  }

  Status convert_audio(Source& s, const AVFrame* f, double clip_start) {
    if (!s.swr) {
      AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
      SwrContext* raw = nullptr;
      int err = swr_alloc_set_opts2(&raw, &stereo, AV_SAMPLE_FMT_FLTP, opt_.audio_rate, &s.adec->ch_layout,
                                    s.adec->sample_fmt, s.adec->sample_rate, 0, nullptr);
      if (err < 0) return av_status(err, s.path + ": audio resampler");
      s.swr.reset(raw);
      err = swr_init(s.swr.get());
      if (err < 0) return av_status(err, s.path + ": audio resampler");
    }
    const AVRational tb = s.fmt->streams[s.astream]->time_base;
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE) ts = 0;
    // Samples still inside the resampler come out first; date them back.
    const int64_t delay = swr_get_delay(s.swr.get(), opt_.audio_rate);
    const double t_first = static_cast<double>(ts) * av_q2d(tb) - static_cast<double>(delay) / opt_.audio_rate;
    const int cap = swr_get_out_samples(s.swr.get(), f->nb_samples);
    resample_buf_[0].resize(static_cast<size_t>(std::max(cap, 1)));
    resample_buf_[1].resize(static_cast<size_t>(std::max(cap, 1)));
    uint8_t* outp[2] = {reinterpret_cast<uint8_t*>(resample_buf_[0].data()),
                        reinterpret_cast<uint8_t*>(resample_buf_[1].data())};
    int got = swr_convert(s.swr.get(), outp, cap, const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
    if (got < 0) return av_status(got, s.path + ": converting audio");
    const float* planes[2] = {resample_buf_[0].data(), resample_buf_[1].data()};
    place_audio(planes, got, t_first, clip_start);
    return {};
  }

  // Decodes the clip's range: emits exactly `nframes` frames and fills the
  // clip's audio buffer.
  Status decode_range(Source& s, const RenderClip& clip, long long nframes) {
    const double fps = av_q2d(fps_);
    // MP4/MOV seeks every stream to the chosen keyframe's time by its index,
    // so audio is there from that time; other containers seek to a file
    // position, and audio stored ahead of the keyframe needs a margin.
    const bool indexed = std::strstr(s.fmt->iformat->name, "mov") != nullptr;
    const double seek_to = std::max(0.0, clip.start - (indexed ? 0.0 : 0.5));
    const int seek_stream = s.vstream >= 0 ? s.vstream : s.astream;
    const AVRational stb = s.fmt->streams[seek_stream]->time_base;
    int64_t target = av_rescale_q(static_cast<int64_t>(seek_to * AV_TIME_BASE), AV_TIME_BASE_Q, stb);
    int err = av_seek_frame(s.fmt.get(), seek_stream, target, AVSEEK_FLAG_BACKWARD);
    if (err < 0) err = av_seek_frame(s.fmt.get(), -1, 0, AVSEEK_FLAG_BACKWARD);  // unseekable: rewind
    if (err < 0) return av_status(err, s.path + ": seeking");
    if (s.vdec) avcodec_flush_buffers(s.vdec.get());
    if (s.adec) avcodec_flush_buffers(s.adec.get());
    s.swr.reset();

    long long emitted = 0;
    bool have_frame = false;
    bool video_done = s.vstream < 0, audio_done = s.astream < 0;
    FramePtr frame = make_frame();
    const AVRational vtb = s.vstream >= 0 ? s.fmt->streams[s.vstream]->time_base : AVRational{1, 1};

    // Emits output frames whose time is before `t` using the current canvas.
    auto emit_until = [&](double t) -> Status {
      while (emitted < nframes && clip.start + static_cast<double>(emitted) / fps < t - 1e-6) {
        SF_RETURN_IF_ERROR(emit_canvas());
        ++emitted;
      }
      return {};
    };

    auto on_video = [&](AVFrame* f) -> Status {
      int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
      double t = ts == AV_NOPTS_VALUE ? clip.start : static_cast<double>(ts) * av_q2d(vtb);
      // Output frame k shows the last source frame at or before its time.
      if (have_frame) SF_RETURN_IF_ERROR(emit_until(t));
      if (emitted >= nframes) {
        video_done = true;
        return {};
      }
      SF_RETURN_IF_ERROR(convert_frame(s, f));
      have_frame = true;
      return {};
    };

    auto drain = [&](AVCodecContext* dec, bool video) -> Status {
      for (;;) {
        int e = avcodec_receive_frame(dec, frame.get());
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
        if (e < 0) return av_status(e, s.path + ": decoding");
        if (video) {
          if (!video_done) SF_RETURN_IF_ERROR(on_video(frame.get()));
        } else if (!audio_done) {
          int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
          double t = ts == AV_NOPTS_VALUE ? 0 : static_cast<double>(ts) * av_q2d(s.fmt->streams[s.astream]->time_base);
          if (t >= clip.end + 0.1) {
            audio_done = true;
          } else {
            SF_RETURN_IF_ERROR(convert_audio(s, frame.get(), clip.start));
          }
        }
        av_frame_unref(frame.get());
      }
    };

    PacketPtr pkt = make_packet();
    while (!(video_done && audio_done)) {
      err = av_read_frame(s.fmt.get(), pkt.get());
      if (err == AVERROR_EOF) break;
      if (err < 0) return av_status(err, s.path + ": reading");
      const bool is_v = pkt->stream_index == s.vstream && !video_done;
      const bool is_a = pkt->stream_index == s.astream && !audio_done;
      if (is_v || is_a) {
        AVCodecContext* dec = is_v ? s.vdec.get() : s.adec.get();
        if (is_v) {
          // Pictures well before the start are decoded only as references
          // for later ones: frames nothing refers to are skipped. The last
          // 0.2 s before the start decode fully, so the frame on screen at
          // the start is always there.
          const int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
          const bool preroll = pts != AV_NOPTS_VALUE && static_cast<double>(pts) * av_q2d(vtb) < clip.start - 0.2;
          dec->skip_frame = preroll ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
        }
        int e = avcodec_send_packet(dec, pkt.get());
        av_packet_unref(pkt.get());
        if (e < 0 && e != AVERROR_INVALIDDATA && e != AVERROR(EAGAIN)) return av_status(e, s.path + ": decoding");
        SF_RETURN_IF_ERROR(drain(dec, is_v));
      } else {
        av_packet_unref(pkt.get());
      }
    }
    // End of file (or both done): flush decoders for what they still hold.
    if (err == AVERROR_EOF) {
      if (s.vdec && !video_done) {
        avcodec_send_packet(s.vdec.get(), nullptr);
        SF_RETURN_IF_ERROR(drain(s.vdec.get(), true));
      }
      if (s.adec && !audio_done) {
        avcodec_send_packet(s.adec.get(), nullptr);
        SF_RETURN_IF_ERROR(drain(s.adec.get(), false));
      }
    }
    if (!have_frame && s.vstream >= 0) {
      SF_LOG_WARN("{}: no picture between {:.2f} s and {:.2f} s; rendering black", s.path, clip.start, clip.end);
    }
    if (!have_frame) fill_black(canvas_.get());
    // Hold the last picture to the clip's end (or black for audio-only).
    while (emitted < nframes) {
      SF_RETURN_IF_ERROR(emit_canvas());
      ++emitted;
    }
    if (s.vdec) avcodec_flush_buffers(s.vdec.get());
    if (s.adec) avcodec_flush_buffers(s.adec.get());
    return {};
  }

  Status push_audio() {
    auto& ch = clip_audio_;
    const size_t n = ch[0].size();
    const auto fade = std::min(n / 2, static_cast<size_t>(opt_.fade * opt_.audio_rate));
    for (size_t i = 0; i < fade; ++i) {
      const float g = static_cast<float>(i) / static_cast<float>(fade);
      for (auto& c : ch) {
        c[i] *= g;
        c[n - 1 - i] *= g;
      }
    }
    void* planes[2] = {ch[0].data(), ch[1].data()};
    if (av_audio_fifo_write(fifo_.get(), planes, static_cast<int>(n)) < static_cast<int>(n)) {
      return internal_error("audio buffer full");
    }
    // Encoded a little at a time by emit_canvas(): all at once here, the AAC
    // encoder would run alone while the video encoder's threads sit idle.
    return {};
  }

  Status flush_audio(bool final) {
    const int fs = writer_->audio_frame_size();
    while (av_audio_fifo_size(fifo_.get()) >= fs || (final && av_audio_fifo_size(fifo_.get()) > 0)) {
      SF_RETURN_IF_ERROR(encode_audio_frame(std::min(fs, av_audio_fifo_size(fifo_.get()))));
    }
    if (final) SF_RETURN_IF_ERROR(encode_audio(nullptr));
    return {};
  }

  // Encodes the next `n` queued samples as one AAC frame.
  Status encode_audio_frame(int n) {
    FramePtr f = make_frame();
    f->nb_samples = n;
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = opt_.audio_rate;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    av_channel_layout_copy(&f->ch_layout, &stereo);
    int err = av_frame_get_buffer(f.get(), 0);
    if (err < 0) return av_status(err, "audio frame");
    av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(f->data), n);
    f->pts = samples_sent_;
    samples_sent_ += n;
    SF_RETURN_IF_ERROR(encode_audio(f.get()));
    return {};
  }

  Status encode_audio(const AVFrame* f) { return writer_->write_audio(f); }


  const RenderOptions& opt_;
  const RenderProgressFn& progress_;
  std::unique_ptr<Mp4Writer> writer_;
  AudioFifoPtr fifo_;
  FramePtr canvas_;
  int width_ = 0, height_ = 0;
  AVRational fps_{30, 1};
  long long frames_written_ = 0;
  long long samples_sent_ = 0;
  double total_seconds_ = 0;
  std::vector<std::vector<float>> clip_audio_;
  std::vector<float> resample_buf_[2];
  RenderResult result_;
};

// Output profile from the options or the first input that has video.
Status choose_profile(const std::vector<RenderClip>& clips, const RenderOptions& o, int* w, int* h,
                      AVRational* fps) {
  *w = o.width;
  *h = o.height;
  *fps = o.fps > 0 ? av_d2q(o.fps, 100000) : AVRational{0, 1};
  if ((*w == 0 || *h == 0 || fps->num == 0)) {
    for (const auto& c : clips) {
      SF_ASSIGN_OR_RETURN(InputFormatPtr fmt, open_input(c.path));
      int v = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
      if (v < 0 || (fmt->streams[v]->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) continue;
      const AVStream* st = fmt->streams[v];
      if (*w == 0 || *h == 0) {
        *w = st->codecpar->width;
        *h = st->codecpar->height;
      }
      if (fps->num == 0) {
        *fps = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
        if (fps->num <= 0 || av_q2d(*fps) > 240) *fps = AVRational{30, 1};
      }
      break;
    }
  }
  if (*w == 0 || *h == 0) {
    *w = 1280;
    *h = 720;
  }
  if (fps->num == 0) *fps = AVRational{30, 1};
  *w &= ~1;
  *h &= ~1;
  if (*w < 16 || *h < 16 || *w > 8192 || *h > 8192) {
    return invalid_argument("output size " + std::to_string(*w) + "x" + std::to_string(*h) +
                            " is out of range (16..8192)");
  }
  if (av_q2d(*fps) < 1 || av_q2d(*fps) > 240) return invalid_argument("output frame rate must be in 1..240");
  return {};
}

}  // namespace

Result<RenderResult> render(const std::vector<RenderClip>& clips, const std::string& output,
                            const RenderOptions& options, const RenderProgressFn& progress) {
  install_log_bridge();
  if (clips.empty()) return invalid_argument("nothing to render: no clips");
  double total = 0;
  for (const auto& c : clips) {
    if (!(c.end > c.start) || c.start < 0) {
      return invalid_argument(c.path + ": clip " + std::to_string(c.start) + "-" + std::to_string(c.end) +
                              " s is empty or negative");
    }
    total += c.end - c.start;
  }
  SF_RETURN_IF_ERROR(check_output_path(output));
  int w = 0, h = 0;
  AVRational fps{};
  SF_RETURN_IF_ERROR(choose_profile(clips, options, &w, &h, &fps));

  const std::string tmp = temporary_name_for(output);
  Renderer r(options, progress);
  r.set_total(total);
  Status st = r.open_output(tmp, w, h, fps);
  std::unique_ptr<Source> src;
  for (size_t i = 0; st.ok() && i < clips.size(); ++i) {
    if (!src || src->path != clips[i].path) {
      auto s = open_source(clips[i].path);
      if (!s.ok()) {
        st = s.status();
        break;
      }
      src = std::move(s).value();
    }
    st = r.render_clip(*src, clips[i]);
  }
  if (st.ok()) st = r.finish(tmp, output);
  if (!st.ok()) {
    std::remove(tmp.c_str());
    return st;
  }
  return std::move(r.result());
}

}  // namespace sf::media
