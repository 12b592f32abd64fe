#include "media/render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/bounded_queue.h"
#include "core/cancel.h"
#include "core/files.h"
#include "core/log.h"
#include "media/av.h"
#include "media/mp4_writer.h"
#include "media/probe.h"
#include "media/remote.h"

namespace sf::media {
namespace {

// What the cutting thread hands the encoding thread: one output picture
// (yuv420p at the output size, pts = output frame index) or a run of stereo
// samples that continues the output's audio exactly where the last run ended.
struct Piece {
  FramePtr picture;
  std::vector<float> left, right;
};

// Enough pictures to cover a seek and a decoder restart at a clip boundary
// while the encoder keeps working, few enough to stay small at 4K.
constexpr size_t kQueuePieces = 48;

// One demuxer on an input, with the renderer's choice of streams (the
// others discarded). Several may be open on one input at once: clips read
// ahead in parallel each have their own.
struct Demux {
  std::string path;
  InputFormatPtr fmt;
  int vstream = -1, astream = -1;
  double origin = 0;  // container-clock seconds at file time 0

  double file_time(int64_t ts, AVRational tb) const { return static_cast<double>(ts) * av_q2d(tb) - origin; }
};

// One open input for cutting: its demuxer (replaced by each clip's own when
// clips are read ahead), decoders, picture filter graph and resampler,
// reused by consecutive clips of the same file. Used by the cutting thread only.
struct Source : Demux {
  CodecContextPtr vdec, adec;
  int rotation = 0;  // clockwise degrees to show the picture upright
  bool interlaced = false;

  FilterGraphPtr graph;
  AVFilterContext* graph_in = nullptr;
  AVFilterContext* graph_out = nullptr;
  int graph_w = 0, graph_h = 0, graph_fmt = -1;
  AVRational graph_sar{0, 1};

  SwrPtr swr;
  int swr_rate = 0, swr_fmt = -1;
  AVChannelLayout swr_layout{};

  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() { av_channel_layout_uninit(&swr_layout); }
};

// The real picture track: the best video stream unless it is cover art, then
// any other video stream that is not, else none.
int pick_video_stream(AVFormatContext* fmt) {
  auto real = [&](int i) { return (fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0; };
  int best = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (best >= 0 && real(best)) return best;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && real(static_cast<int>(i))) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<std::unique_ptr<Demux>> open_demux(const std::string& path) {
  auto d = std::make_unique<Demux>();
  d->path = path;
  SF_ASSIGN_OR_RETURN(d->fmt, open_input(path));
  if (d->fmt->start_time != AV_NOPTS_VALUE) d->origin = static_cast<double>(d->fmt->start_time) / AV_TIME_BASE;
  d->vstream = pick_video_stream(d->fmt.get());
  d->astream = av_find_best_stream(d->fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (d->vstream < 0 && d->astream < 0) return bad_media(path + ": has neither video nor audio");
  for (unsigned i = 0; i < d->fmt->nb_streams; ++i) {
    bool used = static_cast<int>(i) == d->vstream || static_cast<int>(i) == d->astream;
    d->fmt->streams[i]->discard = used ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  return d;
}

// A Source cutting from demuxer `d` (taken over).
Result<std::unique_ptr<Source>> open_source(Demux&& d) {
  auto s = std::make_unique<Source>();
  static_cast<Demux&>(*s) = std::move(d);
  if (s->vstream >= 0) {
    const AVStream* st = s->fmt->streams[s->vstream];
    s->rotation = display_rotation(st);
    const AVFieldOrder fo = st->codecpar->field_order;
    s->interlaced = fo != AV_FIELD_UNKNOWN && fo != AV_FIELD_PROGRESSIVE;
    SF_ASSIGN_OR_RETURN(s->vdec, open_decoder(s->fmt.get(), s->vstream, 0));
  }
  if (s->astream >= 0) {
    SF_ASSIGN_OR_RETURN(s->adec, open_decoder(s->fmt.get(), s->astream, 1));
  }
  return s;
}

// ---- positioning and reading ahead ----------------------------------------

// Positions the demuxer at file time `t` or the nearest point before it.
Status seek_to_time(Demux& s, double t) {
  int err = 0;
  if (t <= 0 && (s.fmt->iformat->flags & AVFMT_NO_BYTE_SEEK) == 0) {
    // The true start: a timestamp search can land past the first keyframe
    // when streams start at different times.
    err = av_seek_frame(s.fmt.get(), -1, 0, AVSEEK_FLAG_BYTE);
  } else {
    const int seek_stream = s.vstream >= 0 ? s.vstream : s.astream;
    const AVRational stb = s.fmt->streams[seek_stream]->time_base;
    const int64_t target = static_cast<int64_t>(std::floor((t + s.origin) / av_q2d(stb)));
    err = av_seek_frame(s.fmt.get(), seek_stream, target, AVSEEK_FLAG_BACKWARD);
  }
  if (err < 0) {
    err = av_seek_frame(s.fmt.get(), -1, s.fmt->start_time != AV_NOPTS_VALUE ? s.fmt->start_time : 0,
                        AVSEEK_FLAG_BACKWARD);  // unseekable: rewind
  }
  if (err < 0) return av_status(err, s.path + ": seeking");
  return {};
}

// File time of the first video keyframe from the demuxer's position, or
// +infinity when none comes before `limit`.
Result<double> first_keyframe(Demux& s, double limit) {
  const AVRational vtb = s.fmt->streams[s.vstream]->time_base;
  PacketPtr pkt = make_packet();
  for (int n = 0; n < 100000; ++n) {
    int err = av_read_frame(s.fmt.get(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return av_status(err, s.path + ": reading");
    const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    const bool video = pkt->stream_index == s.vstream;
    const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    av_packet_unref(pkt.get());
    if (!video || ts == AV_NOPTS_VALUE) continue;
    const double t = s.file_time(ts, vtb);
    if (key) return t;
    if (t > limit) break;
  }
  return HUGE_VAL;
}

// Positions the demuxer for a clip starting at `start`.
Status seek(Demux& s, double start) {
  // MP4/MOV seeks every stream to the chosen keyframe's time by its index,
  // so audio is there from that time; other containers seek to a file
  // position, and audio stored ahead of the keyframe needs a margin.
  // Without an index (MPEG-TS) the position found may also be past the
  // keyframe the start needs; then the margin grows until one is before it.
  const bool indexed = std::strstr(s.fmt->iformat->name, "mov") != nullptr;
  double margin = indexed ? 0.0 : 0.5;
  for (int attempt = 0;; ++attempt) {
    const double seek_to = std::max(0.0, start - margin);
    SF_RETURN_IF_ERROR(seek_to_time(s, seek_to));
    if (indexed || s.vstream < 0 || attempt == 5) break;
    SF_ASSIGN_OR_RETURN(double key, first_keyframe(s, start + 1.0));
    if (key <= start + 1e-3 || seek_to <= 0) {
      SF_RETURN_IF_ERROR(seek_to_time(s, seek_to));
      break;
    }
    margin = margin * 4 + 1;
  }
  return {};
}

// A clip's packets read ahead: its own demuxer positioned for it, and the
// packets from there in file order, until both streams are past the clip's
// end, the end of the file, or kReadAheadBytes. The cutter decodes these
// first, then goes on reading from `demux` if the clip needs more.
struct ClipRead {
  RenderClip clip;
  std::unique_ptr<Demux> demux;  // null: the cutter's own demuxer, not yet positioned
  std::vector<PacketPtr> packets;
  size_t next = 0;
  bool eof = false;  // the packets end at the end of the file
  Status status;
  std::thread reader;
};

// Demuxers no clip is using, for readers to take instead of opening the
// input again. Thread-safe.
class DemuxPool {
 public:
  explicit DemuxPool(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

  std::unique_ptr<Demux> take(const std::string& path) {
    std::lock_guard lock(mu_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if ((*it)->path == path) {
        auto d = std::move(*it);
        free_.erase(it);
        return d;
      }
    }
    return nullptr;
  }

  void give(std::unique_ptr<Demux> d) {
    if (!d || !d->fmt) return;
    std::lock_guard lock(mu_);
    free_.push_back(std::move(d));
    if (free_.size() > capacity_) free_.pop_front();  // the oldest closes
  }

 private:
  std::mutex mu_;
  std::deque<std::unique_ptr<Demux>> free_;  // GUARDED_BY(mu_)
  size_t capacity_;
};

// Reads `r.clip` ahead on a demuxer of its own. `stop` ends the reading early
// (the render is over); what was read is then dropped.
Status read_ahead(ClipRead& r, DemuxPool& pool, const RenderOptions& opt, const std::atomic<bool>& stop) {
  r.demux = pool.take(r.clip.path);
  if (!r.demux) {
    SF_ASSIGN_OR_RETURN(r.demux, open_demux(r.clip.path));
  }
  Demux& d = *r.demux;
  SF_RETURN_IF_ERROR(seek(d, r.clip.start));
  // Past the end by a margin that covers decoder delay and B-frame reordering.
  bool video_past = d.vstream < 0, audio_past = d.astream < 0;
  size_t bytes = 0;
  while (!(video_past && audio_past) && bytes < kReadAheadBytes) {
    if (stop.load() || stop_requested(opt.cancel)) return {};
    PacketPtr pkt = make_packet();
    int err = av_read_frame(d.fmt.get(), pkt.get());
    if (err == AVERROR_EOF) {
      r.eof = true;
      break;
    }
    if (err < 0) return av_status(err, d.path + ": reading");
    const bool is_v = pkt->stream_index == d.vstream, is_a = pkt->stream_index == d.astream;
    if (!is_v && !is_a) continue;
    const int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts != AV_NOPTS_VALUE) {
      const double t = d.file_time(ts, d.fmt->streams[pkt->stream_index]->time_base);
      if (is_v && t > r.clip.end + 1.0) video_past = true;
      if (is_a && t > r.clip.end + 0.5) audio_past = true;
    }
    bytes += static_cast<size_t>(pkt->size);
    r.packets.push_back(std::move(pkt));
  }
  return {};
}

// The clips to render, in order, as the caller adds them, each read ahead
// by a reader thread of its own as soon as there is room: up to
// url_readers / local_readers readers at once besides the clip being cut
// (limits <= 1: none; the cutting thread reads the clip itself). Readers
// start when clips are added, so the first ones are under way before the
// cutter needs them. Thread-safe.
class ClipFeed {
 public:
  explicit ClipFeed(const RenderOptions& o)
      : opt_(o), pool_(static_cast<size_t>(std::max({1, o.url_readers, o.local_readers})) + 1) {}
  ClipFeed(const ClipFeed&) = delete;
  ClipFeed& operator=(const ClipFeed&) = delete;
  ~ClipFeed() { stop(); }

  void put(const RenderClip& c) {
    std::lock_guard lock(mu_);
    auto r = std::make_unique<ClipRead>();
    r->clip = c;
    clips_.push_back(std::move(r));
    start_readers();
    cv_.notify_all();
  }
  // No more clips: get() returns what is left, then nothing.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // The next clip, its reader (if it has one) finished; blocks until there
  // is one. Null once closed and drained.
  std::unique_ptr<ClipRead> get() {
    std::unique_ptr<ClipRead> r;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closed_ || !clips_.empty(); });
      if (clips_.empty()) return nullptr;
      r = std::move(clips_.front());
      clips_.pop_front();
      start_readers();
    }
    if (r->reader.joinable()) r->reader.join();
    return r;
  }
  // Demuxers the cutter is done with, for readers to reuse.
  DemuxPool& pool() { return pool_; }

  // Ends the feed: readers stop early and are joined, queued clips dropped.
  void stop() {
    std::deque<std::unique_ptr<ClipRead>> left;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      stopping_.store(true);
      left.swap(clips_);
      cv_.notify_all();
    }
    for (auto& r : left) {
      if (r->reader.joinable()) r->reader.join();
    }
  }

 private:
  int readers_for(const std::string& path) const {
    return is_http_url(path) ? opt_.url_readers : opt_.local_readers;
  }

  // REQUIRES: mu_ held.
  void start_readers() {
    if (stopping_.load()) return;
    size_t running = 0;
    for (auto& r : clips_) {
      if (r->reader.joinable()) {
        ++running;
        continue;
      }
      const int limit = readers_for(r->clip.path);
      if (limit <= 1 || running >= static_cast<size_t>(limit)) break;  // keeps the order of starts
      ClipRead* raw = r.get();
      r->reader = std::thread([raw, this] {
        try {
          raw->status = read_ahead(*raw, pool_, opt_, stopping_);
        } catch (const std::bad_alloc&) {
          raw->status = internal_error(raw->clip.path + ": out of memory reading a clip");
        } catch (const std::exception& e) {
          raw->status = internal_error(raw->clip.path + ": reading a clip: " + e.what());
        }
      });
      ++running;
    }
  }

  const RenderOptions& opt_;
  DemuxPool pool_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<ClipRead>> clips_;  // GUARDED_BY(mu_)
  bool closed_ = false;                          // GUARDED_BY(mu_)
};

// Decodes, filters and cuts the clips on its own thread, producing the exact
// sequence of output pictures and samples; the encoder consumes them.
class Cutter {
 public:
  Cutter(const RenderOptions& o, int w, int h, AVRational fps, BoundedQueue<Piece>* out)
      : opt_(o), width_(w), height_(h), fps_(fps), out_(out) {}

  // Cuts the clips of `feed` in order until it is closed and drained.
  // Returns early (OK) when the consumer closed the queue; the consumer then
  // has its own error to report.
  Status run(ClipFeed& feed) {
    black_ = make_frame();
    black_->format = AV_PIX_FMT_YUV420P;
    black_->width = width_;
    black_->height = height_;
    int err = av_frame_get_buffer(black_.get(), 0);
    if (err < 0) return av_status(err, "allocating a frame");
    fill_black(black_.get());
    std::unique_ptr<Source> src;
    while (std::unique_ptr<ClipRead> r = feed.get()) {
      SF_RETURN_IF_ERROR(r->status);
      if (r->demux) {
        // Read ahead: cut with the clip's own demuxer.
        if (!src || src->path != r->clip.path) {
          if (src) feed.pool().give(std::make_unique<Demux>(std::move(static_cast<Demux&>(*src))));
          src.reset();
          SF_ASSIGN_OR_RETURN(src, open_source(std::move(*r->demux)));
        } else {
          std::swap(static_cast<Demux&>(*src), *r->demux);
          feed.pool().give(std::move(r->demux));
        }
      } else {
        if (!src || src->path != r->clip.path) {
          src.reset();
          SF_ASSIGN_OR_RETURN(auto d, open_demux(r->clip.path));
          SF_ASSIGN_OR_RETURN(src, open_source(std::move(*d)));
        }
        SF_RETURN_IF_ERROR(seek(*src, r->clip.start));
      }
      SF_RETURN_IF_ERROR(cut(*src, *r));
      if (stopped_) return {};
    }
    return {};
  }

  const std::vector<RenderedClip>& clips() const { return rendered_; }

 private:
  static void fill_black(AVFrame* f) {
    for (int y = 0; y < f->height; ++y) std::memset(f->data[0] + y * f->linesize[0], 16, static_cast<size_t>(f->width));
    for (int y = 0; y < f->height / 2; ++y) {
      std::memset(f->data[1] + y * f->linesize[1], 128, static_cast<size_t>(f->width / 2));
      std::memset(f->data[2] + y * f->linesize[2], 128, static_cast<size_t>(f->width / 2));
    }
  }

  long long samples_for_frames(long long f) const {
    return av_rescale_q(f, av_inv_q(fps_), AVRational{1, opt_.audio_rate});
  }

  bool put(Piece p) {
    if (stopped_) return false;
    if (!out_->put(std::move(p))) stopped_ = true;
    return !stopped_;
  }

  // ---- pictures -----------------------------------------------------------

  // Sends the current picture as the next output frame.
  Status emit_picture() {
    if (stop_requested(opt_.cancel)) return cancelled("rendering stopped on request; no output written");
    FramePtr p(av_frame_clone(last_ != nullptr ? last_.get() : black_.get()));
    if (!p) return internal_error("out of memory for a picture");
    p->pts = frames_out_++;
    // Decoder hints would steer the encoder: a source I-frame is no reason
    // for an output keyframe, and the output is progressive.
    p->pict_type = AV_PICTURE_TYPE_NONE;
    p->key_frame = 0;
    p->interlaced_frame = 0;
    ++emitted_;
    put(Piece{std::move(p), {}, {}});
    return {};
  }

  // Emits output frames whose time is before file time `t` with the current picture.
  Status emit_until(double t) {
    const double fps = av_q2d(fps_);
    while (!stopped_ && emitted_ < nframes_ && clip_.start + static_cast<double>(emitted_) / fps < t - 1e-6) {
      SF_RETURN_IF_ERROR(emit_picture());
    }
    return {};
  }

  // The filter chain for pictures shaped like `f`: deinterlace, turn
  // upright, scale into the output keeping the display aspect, pad to the
  // output size, yuv420p.
  std::string filter_chain(Source& s, const AVFrame* f) const {
    std::string chain;
    auto add = [&](const std::string& filter) { chain += (chain.empty() ? "" : ",") + filter; };
    if (s.interlaced || f->interlaced_frame != 0) {
      // deint=interlaced leaves progressive frames of a mixed stream alone.
      add(s.interlaced ? "bwdif=mode=send_frame:deint=all" : "bwdif=mode=send_frame:deint=interlaced");
    }
    AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : AVRational{1, 1};
    int dw = f->width, dh = f->height;
    if (s.rotation == 90 || s.rotation == 270) {
      add(s.rotation == 90 ? "transpose=clock" : "transpose=cclock");
      std::swap(dw, dh);
      sar = av_inv_q(sar);
    } else if (s.rotation == 180) {
      add("hflip");
      add("vflip");
    }
    const double aspect = dw * av_q2d(sar) / dh;
    int w = width_, h = height_;
    if (aspect > static_cast<double>(width_) / height_) {
      h = std::clamp(static_cast<int>(std::lround(width_ / aspect)) & ~1, 2, height_);
    } else {
      w = std::clamp(static_cast<int>(std::lround(height_ * aspect)) & ~1, 2, width_);
    }
    // scale passes frames through untouched when nothing changes.
    add("scale=" + std::to_string(w) + ":" + std::to_string(h) + ":flags=bicubic");
    add("setsar=1");
    if (w != width_ || h != height_) {
      add("pad=" + std::to_string(width_) + ":" + std::to_string(height_) + ":" + std::to_string(((width_ - w) / 2) & ~1) +
          ":" + std::to_string(((height_ - h) / 2) & ~1) + ":black");
    }
    add("format=yuv420p");
    return chain;
  }

  Status build_graph(Source& s, const AVFrame* f) {
    s.graph.reset(avfilter_graph_alloc());
    if (!s.graph) return internal_error("out of memory for a filter graph");
    // The cutting thread already runs beside the encoder; filters stay on it.
    s.graph->nb_threads = 1;
    const AVRational tb = s.fmt->streams[s.vstream]->time_base;
    const AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : AVRational{1, 1};
    const std::string args = "video_size=" + std::to_string(f->width) + "x" + std::to_string(f->height) +
                             ":pix_fmt=" + std::to_string(f->format) + ":time_base=" + std::to_string(tb.num) +
                             "/" + std::to_string(tb.den) + ":pixel_aspect=" + std::to_string(sar.num) + "/" +
                             std::to_string(sar.den);
    int err = avfilter_graph_create_filter(&s.graph_in, avfilter_get_by_name("buffer"), "in", args.c_str(), nullptr,
                                           s.graph.get());
    if (err < 0) return av_status(err, s.path + ": picture filter input");
    err = avfilter_graph_create_filter(&s.graph_out, avfilter_get_by_name("buffersink"), "out", nullptr, nullptr,
                                       s.graph.get());
    if (err < 0) return av_status(err, s.path + ": picture filter output");
    const std::string chain = filter_chain(s, f);
    FilterInOutPtr outputs(avfilter_inout_alloc()), inputs(avfilter_inout_alloc());
    if (!outputs || !inputs) return internal_error("out of memory for a filter graph");
    outputs->name = av_strdup("in");
    outputs->filter_ctx = s.graph_in;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = s.graph_out;
    AVFilterInOut* in_raw = inputs.release();
    AVFilterInOut* out_raw = outputs.release();
    err = avfilter_graph_parse_ptr(s.graph.get(), chain.c_str(), &in_raw, &out_raw, nullptr);
    avfilter_inout_free(&in_raw);
    avfilter_inout_free(&out_raw);
    if (err < 0) return av_status(err, s.path + ": picture filters '" + chain + "'");
    err = avfilter_graph_config(s.graph.get(), nullptr);
    if (err < 0) return av_status(err, s.path + ": picture filters '" + chain + "'");
    s.graph_w = f->width;
    s.graph_h = f->height;
    s.graph_fmt = f->format;
    s.graph_sar = sar;
    SF_LOG_DEBUG("{}: picture filters {}", s.path, chain);
    return {};
  }

  // Takes what the filter graph has ready and places it on the output's grid.
  Status pull_pictures(Source& s) {
    const AVRational tb = av_buffersink_get_time_base(s.graph_out);
    for (;;) {
      FramePtr p = make_frame();
      int err = av_buffersink_get_frame(s.graph_out, p.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
      if (err < 0) return av_status(err, s.path + ": filtering pictures");
      if (video_done_) continue;
      const double t = p->pts == AV_NOPTS_VALUE ? clip_.start : s.file_time(p->pts, tb);
      // Output frame k shows the last source frame at or before its time.
      if (last_ != nullptr) SF_RETURN_IF_ERROR(emit_until(t));
      if (emitted_ >= nframes_) {
        video_done_ = true;
        continue;
      }
      last_ = std::move(p);
      have_picture_ = true;
    }
  }

  // Ends the graph's input so frames it holds back (deinterlacing looks one
  // frame ahead) come out; the graph is rebuilt for the next frame.
  Status close_graph(Source& s) {
    if (!s.graph) return {};
    int err = av_buffersrc_add_frame_flags(s.graph_in, nullptr, 0);
    if (err < 0 && err != AVERROR_EOF) return av_status(err, s.path + ": filtering pictures");
    SF_RETURN_IF_ERROR(pull_pictures(s));
    s.graph.reset();
    s.graph_in = s.graph_out = nullptr;
    return {};
  }

  Status on_video(Source& s, AVFrame* f) {
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE && last_video_ts_ != AV_NOPTS_VALUE) {
      ts = last_video_ts_ + std::max<int64_t>(1, f->pkt_duration);
    }
    last_video_ts_ = ts;
    f->pts = ts;
    const AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : AVRational{1, 1};
    if (s.graph && (f->width != s.graph_w || f->height != s.graph_h || f->format != s.graph_fmt ||
                    av_cmp_q(sar, s.graph_sar) != 0)) {
      SF_RETURN_IF_ERROR(close_graph(s));  // the picture changed shape mid-stream
    }
    if (!s.graph) SF_RETURN_IF_ERROR(build_graph(s, f));
    int err = av_buffersrc_add_frame_flags(s.graph_in, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    if (err < 0) return av_status(err, s.path + ": filtering pictures");
    return pull_pictures(s);
  }

  // ---- sound --------------------------------------------------------------

  // Appends up to `n` samples (nullptr planes: silence) to the clip's audio,
  // fading at the clip's edges, and hands them on.
  void append_audio(const float* l, const float* r, long long n) {
    n = std::min(n, alen_ - apos_);
    if (n <= 0) return;
    Piece p;
    p.left.assign(static_cast<size_t>(n), 0.0f);
    p.right.assign(static_cast<size_t>(n), 0.0f);
    if (l != nullptr) {
      std::copy(l, l + n, p.left.begin());
      std::copy(r, r + n, p.right.begin());
      const long long fade = std::min(alen_ / 2, static_cast<long long>(opt_.fade * opt_.audio_rate));
      for (long long i = 0; i < n; ++i) {
        const long long at = apos_ + i;
        const long long edge = std::min(at, alen_ - 1 - at);
        if (edge < fade) {
          const float g = static_cast<float>(edge) / static_cast<float>(fade);
          p.left[static_cast<size_t>(i)] *= g;
          p.right[static_cast<size_t>(i)] *= g;
        }
      }
    }
    apos_ += n;
    put(std::move(p));
  }

  // Places converted samples that start at file time `t_first`: by their
  // timestamp, except that a gap or overlap within the tolerance is closed,
  // so resampling (44.1 -> 48 kHz) never leaves rounding holes. `loose`
  // (MPEG-TS/PS once the clip's sound has begun): the demuxer dates the
  // frames inside one PES packet from the stream's first sample rate, wrong
  // after a rate change, so only larger gaps and overlaps are real.
  void place_audio(const float* l, const float* r, long long n, double t_first, bool loose) {
    long long at = std::llround((t_first - clip_.start) * opt_.audio_rate);
    const long long tolerance = loose && apos_ > 0 ? opt_.audio_rate / 4 : opt_.audio_rate / 200;  // 250 / 5 ms
    if (std::llabs(at - apos_) <= tolerance) at = apos_;
    if (at > apos_) {
      append_audio(nullptr, nullptr, at - apos_);  // a hole in the source: silence as long as the hole
    } else if (at < apos_) {
      const long long skip = apos_ - at;  // already covered (or before the clip)
      if (skip >= n) return;
      l += skip;
      r += skip;
      n -= skip;
    }
    append_audio(l, r, n);
  }

  Status on_audio(Source& s, const AVFrame* f) {
    AVChannelLayout layout{};
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f->ch_layout.nb_channels == 0) {
      av_channel_layout_default(&layout, std::max(1, f->ch_layout.nb_channels));
    } else {
      av_channel_layout_copy(&layout, &f->ch_layout);
    }
    // Joined captures change format mid-stream: follow the frames, not the
    // decoder's first guess.
    if (!s.swr || f->sample_rate != s.swr_rate || f->format != s.swr_fmt ||
        av_channel_layout_compare(&layout, &s.swr_layout) != 0) {
      AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
      SwrContext* raw = nullptr;
      int err = swr_alloc_set_opts2(&raw, &stereo, AV_SAMPLE_FMT_FLTP, opt_.audio_rate, &layout,
                                    static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
      if (err >= 0) {
        s.swr.reset(raw);
        err = swr_init(s.swr.get());
      }
      if (err < 0) {
        av_channel_layout_uninit(&layout);
        return av_status(err, s.path + ": audio resampler");
      }
      s.swr_rate = f->sample_rate;
      s.swr_fmt = f->format;
      av_channel_layout_uninit(&s.swr_layout);
      av_channel_layout_copy(&s.swr_layout, &layout);
    }
    av_channel_layout_uninit(&layout);
    const AVRational tb = s.fmt->streams[s.astream]->time_base;
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    // Samples still inside the resampler come out first; date them back.
    const int64_t delay = swr_get_delay(s.swr.get(), opt_.audio_rate);
    const int cap = swr_get_out_samples(s.swr.get(), f->nb_samples);
    resample_buf_[0].resize(static_cast<size_t>(std::max(cap, 1)));
    resample_buf_[1].resize(static_cast<size_t>(std::max(cap, 1)));
    uint8_t* outp[2] = {reinterpret_cast<uint8_t*>(resample_buf_[0].data()),
                        reinterpret_cast<uint8_t*>(resample_buf_[1].data())};
    int got = swr_convert(s.swr.get(), outp, cap, const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
    if (got < 0) return av_status(got, s.path + ": converting audio");
    // No timestamp: the samples follow on from the last ones.
    const double t_first = ts == AV_NOPTS_VALUE
                               ? clip_.start + static_cast<double>(apos_) / opt_.audio_rate
                               : s.file_time(ts, tb) - static_cast<double>(delay) / opt_.audio_rate;
    place_audio(resample_buf_[0].data(), resample_buf_[1].data(), got, t_first,
                (s.fmt->iformat->flags & AVFMT_TS_DISCONT) != 0);
    if (s.vstream < 0) SF_RETURN_IF_ERROR(emit_black_with_audio());
    return {};
  }

  // Audio-only inputs: pictures keep pace with the sound so the muxer never
  // has to hold a long run of audio waiting for video.
  Status emit_black_with_audio() {
    const double fps = av_q2d(fps_);
    while (!stopped_ && emitted_ < nframes_ &&
           static_cast<double>(emitted_) / fps <= static_cast<double>(apos_) / opt_.audio_rate) {
      SF_RETURN_IF_ERROR(emit_picture());
    }
    return {};
  }

  // ---- one clip -----------------------------------------------------------

  // Decoders and filters start afresh at a clip's first packet.
  static void restart(Source& s) {
    if (s.vdec) avcodec_flush_buffers(s.vdec.get());
    if (s.adec) avcodec_flush_buffers(s.adec.get());
    s.swr.reset();
    s.graph.reset();
    s.graph_in = s.graph_out = nullptr;
  }

  // The next packet of the clip: those read ahead first, then from the demuxer.
  static int next_packet(Source& s, ClipRead& r, AVPacket* pkt) {
    if (r.next < r.packets.size()) {
      av_packet_move_ref(pkt, r.packets[r.next].get());
      r.packets[r.next++].reset();
      return 0;
    }
    if (r.eof) return AVERROR_EOF;
    return av_read_frame(s.fmt.get(), pkt);
  }

  Status cut(Source& s, ClipRead& read) {
    const RenderClip& clip = read.clip;
    clip_ = clip;
    const long long f0 = frames_out_;
    nframes_ = std::max<long long>(1, std::llround((clip.end - clip.start) * av_q2d(fps_)));
    // Audio length follows the frames, so sync never drifts.
    alen_ = samples_for_frames(f0 + nframes_) - samples_for_frames(f0);
    apos_ = 0;
    emitted_ = 0;
    last_.reset();
    have_picture_ = false;
    last_video_ts_ = AV_NOPTS_VALUE;
    video_done_ = s.vstream < 0;
    bool audio_done = s.astream < 0;
    restart(s);

    const AVRational vtb = s.vstream >= 0 ? s.fmt->streams[s.vstream]->time_base : AVRational{1, 1};
    const AVRational atb = s.astream >= 0 ? s.fmt->streams[s.astream]->time_base : AVRational{1, 1};
    FramePtr frame = make_frame();
    auto drain = [&](AVCodecContext* dec, bool video) -> Status {
      for (;;) {
        int e = avcodec_receive_frame(dec, frame.get());
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return {};
        if (e < 0) return av_status(e, s.path + ": decoding");
        if (video) {
          if (!video_done_) SF_RETURN_IF_ERROR(on_video(s, frame.get()));
        } else if (!audio_done) {
          int64_t ts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp : frame->pts;
          if ((ts != AV_NOPTS_VALUE && s.file_time(ts, atb) >= clip.end + 0.1) || apos_ >= alen_) {
            audio_done = true;
          } else {
            SF_RETURN_IF_ERROR(on_audio(s, frame.get()));
          }
        }
        av_frame_unref(frame.get());
      }
    };

    PacketPtr pkt = make_packet();
    int err = 0;
    while (!(video_done_ && audio_done) && !stopped_) {
      err = next_packet(s, read, pkt.get());
      if (err == AVERROR_EOF) break;
      if (err < 0) return av_status(err, s.path + ": reading");
      const bool is_v = pkt->stream_index == s.vstream && !video_done_;
      const bool is_a = pkt->stream_index == s.astream && !audio_done;
      if (is_v || is_a) {
        AVCodecContext* dec = is_v ? s.vdec.get() : s.adec.get();
        if (is_v) {
          // Pictures well before the start are decoded only as references
          // for later ones: frames nothing refers to are skipped. The last
          // 0.2 s before the start decode fully, so the frame on screen at
          // the start is always there.
          const int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
          const bool preroll = pts != AV_NOPTS_VALUE && s.file_time(pts, vtb) < clip.start - 0.2;
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
    if (stopped_) return {};
    // End of file: the decoders still hold frames.
    if (err == AVERROR_EOF) {
      if (s.vdec && !video_done_) {
        avcodec_send_packet(s.vdec.get(), nullptr);
        SF_RETURN_IF_ERROR(drain(s.vdec.get(), true));
      }
      if (s.adec && !audio_done) {
        avcodec_send_packet(s.adec.get(), nullptr);
        SF_RETURN_IF_ERROR(drain(s.adec.get(), false));
      }
    }
    if (!video_done_) SF_RETURN_IF_ERROR(close_graph(s));
    if (!have_picture_ && s.vstream >= 0) {
      SF_LOG_WARN("{}: no picture between {:.2f} s and {:.2f} s; rendering black", s.path, clip.start, clip.end);
    }
    // The clip's sound is exactly as long as its frames: silence fills what
    // the source lacks.
    append_audio(nullptr, nullptr, alen_ - apos_);
    // Hold the last picture to the clip's end (black for audio-only).
    while (!stopped_ && emitted_ < nframes_) SF_RETURN_IF_ERROR(emit_picture());
    last_.reset();

    RenderedClip rc;
    rc.output_start = static_cast<double>(f0) / av_q2d(fps_);
    rc.output_end = static_cast<double>(f0 + nframes_) / av_q2d(fps_);
    rc.frames = nframes_;
    rendered_.push_back(rc);
    return {};
  }

  const RenderOptions& opt_;
  const int width_, height_;
  const AVRational fps_;
  BoundedQueue<Piece>* out_;
  bool stopped_ = false;  // the consumer closed the queue
  FramePtr black_;
  std::vector<RenderedClip> rendered_;
  long long frames_out_ = 0;

  // The clip being cut.
  RenderClip clip_;
  long long nframes_ = 0, emitted_ = 0;
  long long alen_ = 0, apos_ = 0;  // the clip's samples: due, appended so far
  FramePtr last_;                  // the picture on screen (filtered), or null
  bool have_picture_ = false;
  bool video_done_ = false;
  int64_t last_video_ts_ = AV_NOPTS_VALUE;
  std::vector<float> resample_buf_[2];
};

// Encodes what the cutter produces. Runs on the calling thread.
class Encoder {
 public:
  Encoder(const RenderOptions& o, const RenderProgressFn& p) : opt_(o), progress_(p) {}

  Status open(const std::string& tmp, int w, int h, AVRational fps) {
    fps_ = fps;
    Mp4WriterOptions wo;
    wo.width = w;
    wo.height = h;
    wo.fps = fps;
    wo.encoder = opt_.encoder;
    wo.cpu_only = opt_.cpu_only;
    wo.audio_rate = opt_.audio_rate;
    wo.audio_bitrate = opt_.audio_bitrate;
    wo.gop_size = opt_.gop_size;
    wo.timecode = opt_.timecode;
    wo.edit_codec = opt_.edit_codec;
    SF_ASSIGN_OR_RETURN(writer_, Mp4Writer::open(tmp, wo));
    fifo_.reset(av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, writer_->audio_frame_size() * 4));
    if (!fifo_) return internal_error("out of memory for the audio queue");
    return {};
  }

  const EncoderChoice& choice() const { return writer_->encoder(); }
  long long frames() const { return frames_; }

  Status consume(Piece& p, double total) {
    if (p.picture) {
      if (stop_requested(opt_.cancel)) return cancelled("rendering stopped on request; no output written");
      SF_RETURN_IF_ERROR(writer_->write_video(p.picture.get()));
      ++frames_;
      if (progress_) progress_(static_cast<double>(frames_) / av_q2d(fps_), total);
    }
    if (!p.left.empty()) {
      void* planes[2] = {p.left.data(), p.right.data()};
      const int n = static_cast<int>(p.left.size());
      if (av_audio_fifo_write(fifo_.get(), planes, n) < n) return internal_error("out of memory for audio");
      // Encoded as it arrives, between pictures, so the AAC encoder never
      // runs alone while the video encoder's threads sit idle.
      while (av_audio_fifo_size(fifo_.get()) >= writer_->audio_frame_size()) {
        SF_RETURN_IF_ERROR(encode_audio_frame(writer_->audio_frame_size()));
      }
    }
    return {};
  }

  Status finish() {
    while (av_audio_fifo_size(fifo_.get()) > 0) {
      SF_RETURN_IF_ERROR(encode_audio_frame(std::min(writer_->audio_frame_size(), av_audio_fifo_size(fifo_.get()))));
    }
    SF_RETURN_IF_ERROR(writer_->finish());
    writer_.reset();
    return {};
  }

 private:
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
    return writer_->write_audio(f.get());
  }

  const RenderOptions& opt_;
  const RenderProgressFn& progress_;
  std::unique_ptr<Mp4Writer> writer_;
  AudioFifoPtr fifo_;
  AVRational fps_{30, 1};
  long long frames_ = 0;
  long long samples_sent_ = 0;
};

// Output profile from the options or `source`'s video: its displayed
// (upright) size and its frame rate.
Status choose_profile(const MediaInfo* source, const RenderOptions& o, int* w, int* h, AVRational* fps) {
  *w = o.width;
  *h = o.height;
  *fps = o.fps > 0 ? av_d2q(o.fps, 100000) : AVRational{0, 1};
  const StreamInfo* v = source != nullptr ? source->video() : nullptr;
  if (v != nullptr) {
    if (*w == 0 || *h == 0) {
      *w = v->display_width;
      *h = v->display_height;
    }
    if (fps->num == 0) {
      *fps = av_d2q(v->fps, 100000);
      if (fps->num <= 0 || v->fps > 240 || v->fps < 1) *fps = AVRational{30, 1};
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

Status check_clip(const RenderClip& c) {
  if (!(c.end > c.start) || c.start < 0) {
    return invalid_argument(c.path + ": clip " + std::to_string(c.start) + "-" + std::to_string(c.end) +
                            " s is empty or negative");
  }
  return {};
}

}  // namespace

// The renderer's threads: the cutter (clips -> pieces) and the encoder
// (pieces -> file), the latter on the caller's thread in finish() when
// `encode_in_finish` (render(): progress on the calling thread).
struct Renderer::Impl {
  RenderOptions options;
  RenderProgressFn progress;
  std::string output, tmp;
  int width = 0, height = 0;
  AVRational fps{30, 1};
  bool encode_in_finish = false;

  std::unique_ptr<Encoder> encoder;
  BoundedQueue<Piece> queue{kQueuePieces};
  std::unique_ptr<ClipFeed> feed;
  std::unique_ptr<Cutter> cutter;
  std::thread cutting, encoding;
  Status cut_status, encode_status;
  std::atomic<double> total{0};  // output seconds of the clips added
  size_t added = 0;
  bool finished = false;

  // The first error of either thread, for add() to report early.
  std::mutex error_mu;
  Status first_error;  // GUARDED_BY(error_mu)

  void note_error(const Status& st) {
    std::lock_guard lock(error_mu);
    if (first_error.ok()) first_error = st;
  }
  Status error() {
    std::lock_guard lock(error_mu);
    return first_error;
  }

  void start() {
    feed = std::make_unique<ClipFeed>(options);
    cutter = std::make_unique<Cutter>(options, width, height, fps, &queue);
    cutting = std::thread([this] {
      // An exception must not escape the thread (that would end the process).
      try {
        cut_status = cutter->run(*feed);
      } catch (const std::bad_alloc&) {
        cut_status = internal_error("out of memory while cutting the clips");
      } catch (const std::exception& e) {
        cut_status = internal_error(std::string("cutting the clips: ") + e.what());
      }
      if (!cut_status.ok()) note_error(cut_status);
      queue.close();
    });
    if (!encode_in_finish) encoding = std::thread([this] { encode_loop(); });
  }

  void encode_loop() {
    Status st;
    try {
      while (auto piece = queue.get()) {
        if (!st.ok()) continue;
        st = encoder->consume(*piece, total.load());
        if (!st.ok()) {
          note_error(st);
          queue.close();  // stops the cutter; what is queued is dropped
        }
      }
    } catch (const std::bad_alloc&) {
      st = internal_error("out of memory while encoding");
      queue.close();
    } catch (const std::exception& e) {
      st = internal_error(std::string("encoding: ") + e.what());
      queue.close();
    }
    encode_status = st;
  }

  // Stops both threads (what is queued is dropped).
  void stop() {
    if (feed) feed->stop();
    queue.close();
    if (encoding.joinable()) encoding.join();
    if (cutting.joinable()) cutting.join();
  }
};

Renderer::Renderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Renderer::~Renderer() {
  if (!impl_ || impl_->finished) return;
  impl_->stop();
  impl_->encoder.reset();  // closes the file before it is removed
  discard_temporary(impl_->tmp);
}

int Renderer::width() const { return impl_->width; }
int Renderer::height() const { return impl_->height; }
double Renderer::fps() const { return av_q2d(impl_->fps); }

double Renderer::output_length(const RenderClip& clip) const {
  // As Cutter::cut counts a clip's frames.
  const long long n = std::max<long long>(1, std::llround((clip.end - clip.start) * av_q2d(impl_->fps)));
  return static_cast<double>(n) / av_q2d(impl_->fps);
}

Result<std::unique_ptr<Renderer>> Renderer::open(const std::string& output, const RenderOptions& options,
                                                 const MediaInfo* profile_source, RenderProgressFn progress) {
  install_log_bridge();
  SF_RETURN_IF_ERROR(check_output_path(output));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->progress = std::move(progress);
  impl->output = output;
  SF_RETURN_IF_ERROR(choose_profile(profile_source, options, &impl->width, &impl->height, &impl->fps));
  impl->tmp = temporary_name_for(output);
  impl->encoder = std::make_unique<Encoder>(impl->options, impl->progress);
  if (Status st = impl->encoder->open(impl->tmp, impl->width, impl->height, impl->fps); !st.ok()) {
    impl->encoder.reset();
    discard_temporary(impl->tmp);
    return st;
  }
  return std::unique_ptr<Renderer>(new Renderer(std::move(impl)));
}

Status Renderer::add(const RenderClip& clip) {
  Impl& m = *impl_;
  if (m.finished) return internal_error("clip added to a finished render");
  SF_RETURN_IF_ERROR(check_clip(clip));
  SF_RETURN_IF_ERROR(m.error());
  if (!m.cutter) m.start();
  // The total grows before the clip is queued, so progress never passes it.
  double t = m.total.load();
  const double length = output_length(clip);
  while (!m.total.compare_exchange_weak(t, t + length)) {
  }
  m.feed->put(clip);
  ++m.added;
  return {};
}

Result<RenderResult> Renderer::finish() {
  Impl& m = *impl_;
  if (m.finished) return internal_error("render finished twice");
  Status st;
  if (m.added == 0) st = invalid_argument("nothing to render: no clips");
  if (st.ok()) {
    m.feed->close();
    if (m.encode_in_finish) m.encode_loop();
    if (m.encoding.joinable()) m.encoding.join();
    if (m.cutting.joinable()) m.cutting.join();
    st = m.encode_status;
    if (st.ok()) st = m.cut_status;
  }
  RenderResult result;
  if (st.ok()) {
    result.clips = m.cutter->clips();
    result.encoder = m.encoder->choice().name;
    result.preset = m.encoder->choice().preset;
    result.frames = m.encoder->frames();
    st = m.encoder->finish();
  }
  m.stop();
  m.encoder.reset();
  m.finished = true;
  if (st.ok()) st = commit_file(m.tmp, m.output);
  if (!st.ok()) {
    discard_temporary(m.tmp);
    return st;
  }
  result.width = m.width;
  result.height = m.height;
  result.fps = av_q2d(m.fps);
  result.duration = static_cast<double>(result.frames) / av_q2d(m.fps);
  return result;
}

Result<RenderResult> render(const std::vector<RenderClip>& clips, const std::string& output,
                            const RenderOptions& options, const RenderProgressFn& progress) {
  install_log_bridge();
  if (clips.empty()) return invalid_argument("nothing to render: no clips");
  for (const auto& c : clips) SF_RETURN_IF_ERROR(check_clip(c));
  SF_RETURN_IF_ERROR(check_output_path(output));
  // The profile comes from the first clip's input that has video.
  std::optional<MediaInfo> source;
  if (options.width == 0 || options.height == 0 || !(options.fps > 0)) {
    for (const auto& c : clips) {
      SF_ASSIGN_OR_RETURN(MediaInfo info, probe(c.path));
      if (info.video() == nullptr) continue;
      source = std::move(info);
      break;
    }
  }
  SF_ASSIGN_OR_RETURN(auto r, Renderer::open(output, options, source ? &*source : nullptr, progress));
  r->impl_->encode_in_finish = true;
  for (const auto& c : clips) SF_RETURN_IF_ERROR(r->add(c));
  return r->finish();
}

}  // namespace sf::media
