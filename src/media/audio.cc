#include "media/audio.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/log.h"
#include "media/av.h"

namespace sf::media {
namespace {

// Timestamps closer than this to where the samples already are count as
// contiguous: container clocks in milliseconds and resampler rounding jitter
// by a sample or a millisecond, and correcting that would click.
constexpr double kSyncTolerance = 0.010;  // seconds
// MPEG-TS/PS carry one timestamp per PES packet; the demuxer dates the other
// audio frames of a packet from the stream's first sample rate, which is
// wrong after a mid-stream rate change (frames of 46 ms dated 23 ms apart).
// Their gaps and overlaps up to this size are such dating errors, not holes.
constexpr double kDiscontClockTolerance = 0.25;  // seconds

// Transport and program streams may restart their clock (two captures
// joined byte by byte, a broadcast's splice); a backward jump this large is
// such a restart, not an overlap to drop: real overlaps are a few frames.
constexpr double kClockResetThreshold = 1.0;  // seconds

// Raw elementary streams (ADTS, MP3, AC-3 files) store no timestamps: the
// demuxer makes them up from frame sizes at the first frame's rate, so they
// are wrong after a format change. Their frames are simply contiguous.
bool clock_is_made_up(const AVInputFormat* f) {
  static constexpr const char* kRaw[] = {"aac", "ac3", "eac3", "dts", "mp3", "flac", "truehd", "mlp", "loas"};
  for (const char* name : kRaw) {
    if (std::strcmp(f->name, name) == 0) return true;
  }
  return false;
}

// A layout swresample can build a matrix for: native order. Files that do
// not say which channel is which (a 6-channel WAV without a mask) get the
// usual layout for their channel count, as players assume.
AVChannelLayout usable_layout(const AVChannelLayout& in) {
  AVChannelLayout out{};
  if (in.order == AV_CHANNEL_ORDER_NATIVE && av_channel_layout_check(&in) != 0) {
    av_channel_layout_copy(&out, &in);
  } else {
    av_channel_layout_default(&out, std::max(1, in.nb_channels));
  }
  return out;
}

}  // namespace

struct AudioReader::Impl {
  std::string path;
  int rate = 16000;
  InputFormatPtr fmt;
  CodecContextPtr dec;
  SwrPtr swr;
  PacketPtr pkt = make_packet();
  FramePtr frame = make_frame();
  int stream = -1;
  double start = 0;          // container start time: file time 0
  double clock_shift = 0;    // added to stream time after clock restarts
  bool discont_clock = false;  // container may restart its clock
  bool dropping = false;       // inside an overlap: dropping until caught up
  bool raw_clock = false;      // timestamps made up by the demuxer: ignored after the first
  bool input_done = false;   // demuxer exhausted, decoder flushed
  bool flushed_swr = false;
  bool synced = false;       // a timestamped frame has placed the timeline
  int64_t produced = 0;      // output samples generated so far (file time * rate)

  // What the resampler was built for; a frame that differs rebuilds it.
  int in_rate = 0;
  int in_format = -1;
  AVChannelLayout in_layout{};

  std::vector<float> pending;  // converted samples not yet handed out
  size_t pending_pos = 0;

  ~Impl() { av_channel_layout_uninit(&in_layout); }

  bool same_input(const AVFrame* f) const {
    return swr && f->sample_rate == in_rate && f->format == in_format &&
           av_channel_layout_compare(&f->ch_layout, &in_layout) == 0;
  }

  // Appends what the resampler still holds.
  Status drain_swr() {
    if (!swr) return {};
    for (;;) {
      int cap = swr_get_out_samples(swr.get(), 0);
      if (cap <= 0) break;
      size_t old = pending.size();
      pending.resize(old + static_cast<size_t>(cap));
      auto* out = reinterpret_cast<uint8_t*>(pending.data() + old);
      int got = swr_convert(swr.get(), &out, cap, nullptr, 0);
      if (got < 0) return av_status(got, path + ": converting audio");
      pending.resize(old + static_cast<size_t>(got));
      produced += got;
      if (got == 0) break;
    }
    return {};
  }

  // Builds the resampler for `f`'s format. Down-mixing uses swresample's
  // matrix: with float output it is not normalized, so a voice only in the
  // centre of 5.1 or 7.1 keeps its level (centre gain 1, fronts -3 dB,
  // surrounds -6 dB, LFE dropped).
  Status init_swr(const AVFrame* f) {
    SF_RETURN_IF_ERROR(drain_swr());
    swr.reset();
    AVChannelLayout layout = usable_layout(f->ch_layout);
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, rate, &layout,
                                  static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
    av_channel_layout_uninit(&layout);
    if (err < 0) return av_status(err, path + ": audio resampler");
    swr.reset(raw);
    err = swr_init(swr.get());
    if (err < 0) {
      swr.reset();
      return av_status(err, path + ": audio resampler");
    }
    SF_LOG_DEBUG("{}: audio resampler for {} Hz, {} channel(s), format {}", path, f->sample_rate,
                 f->ch_layout.nb_channels, f->format);
    in_rate = f->sample_rate;
    in_format = f->format;
    av_channel_layout_uninit(&in_layout);
    av_channel_layout_copy(&in_layout, &f->ch_layout);
    return {};
  }

  // Converts one decoded frame, placed on the timeline by its timestamp.
  Status convert(const AVFrame* f) {
    if (f->nb_samples <= 0) return {};
    if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0) {
      return bad_media(path + ": audio frame without a sample rate or channels");
    }
    if (!same_input(f)) SF_RETURN_IF_ERROR(init_swr(f));

    int skip = 0;  // leading input samples that overlap what is already there
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts != AV_NOPTS_VALUE && !(synced && raw_clock)) {
      double t = static_cast<double>(ts) * av_q2d(fmt->streams[stream]->time_base) - start + clock_shift;
      // Where this frame's first sample would land if appended now.
      const double at = static_cast<double>(produced + swr_get_delay(swr.get(), rate)) / rate;
      double diff = t - at;
      if (synced && discont_clock && diff < -kClockResetThreshold) {
        clock_shift -= diff;
        diff = 0;
      }
      const double tolerance = !synced ? 0.5 / rate : discont_clock ? kDiscontClockTolerance : kSyncTolerance;
      synced = true;
      if (diff > tolerance) {
        // A hole: silence of the same length keeps later sound at its time.
        auto n = static_cast<int>(std::llround(diff * f->sample_rate));
        int err = swr_inject_silence(swr.get(), n);
        if (err < 0) return av_status(err, path + ": audio resampler");
      } else if (diff < -(dropping ? kSyncTolerance : tolerance)) {
        dropping = true;  // an overlap, once found, is dropped to the sample
        // An overlap (or samples before file time 0): the part already
        // covered is dropped.
        auto n = std::llround(-diff * f->sample_rate);
        if (n >= f->nb_samples) return {};
        skip = static_cast<int>(n);
      } else {
        dropping = false;
      }
    }

    const uint8_t* planes[AV_NUM_DATA_POINTERS * 8] = {};
    const int channels = f->ch_layout.nb_channels;
    const auto sfmt = static_cast<AVSampleFormat>(f->format);
    const int bps = av_get_bytes_per_sample(sfmt);
    const bool planar = av_sample_fmt_is_planar(sfmt) != 0;
    const int nplanes = planar ? channels : 1;
    if (nplanes > static_cast<int>(std::size(planes))) return bad_media(path + ": too many audio channels");
    const size_t offset = static_cast<size_t>(skip) * static_cast<size_t>(bps) * (planar ? 1u : static_cast<size_t>(channels));
    for (int p = 0; p < nplanes; ++p) planes[p] = f->extended_data[p] + offset;
    const int in = f->nb_samples - skip;

    int cap = swr_get_out_samples(swr.get(), in);
    if (cap <= 0) return {};
    size_t old = pending.size();
    pending.resize(old + static_cast<size_t>(cap));
    auto* out = reinterpret_cast<uint8_t*>(pending.data() + old);
    int got = swr_convert(swr.get(), &out, cap, planes, in);
    if (got < 0) return av_status(got, path + ": converting audio");
    pending.resize(old + static_cast<size_t>(got));
    produced += got;
    return {};
  }

  // Decodes until some samples are pending or the stream ends.
  Status fill() {
    while (pending_pos >= pending.size() && !flushed_swr) {
      pending.clear();
      pending_pos = 0;
      int err = avcodec_receive_frame(dec.get(), frame.get());
      if (err == 0) {
        Status s = convert(frame.get());
        av_frame_unref(frame.get());
        SF_RETURN_IF_ERROR(s);
        continue;
      }
      if (err == AVERROR_EOF) {
        SF_RETURN_IF_ERROR(drain_swr());
        flushed_swr = true;
        break;
      }
      if (err != AVERROR(EAGAIN)) return av_status(err, path + ": decoding audio");
      if (input_done) {
        SF_RETURN_IF_ERROR(drain_swr());
        flushed_swr = true;
        break;
      }
      err = av_read_frame(fmt.get(), pkt.get());
      if (err == AVERROR_EOF) {
        avcodec_send_packet(dec.get(), nullptr);
        input_done = true;
        continue;
      }
      if (err < 0) return av_status(err, path + ": reading");
      if (pkt->stream_index == stream) {
        err = avcodec_send_packet(dec.get(), pkt.get());
        // A damaged packet is skipped, as players do; the rest still decodes.
        if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_INVALIDDATA) {
          av_packet_unref(pkt.get());
          return av_status(err, path + ": decoding audio");
        }
      }
      av_packet_unref(pkt.get());
    }
    return {};
  }
};

AudioReader::AudioReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudioReader::~AudioReader() = default;

Result<std::unique_ptr<AudioReader>> AudioReader::open(const std::string& path, int sample_rate) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->rate = sample_rate;
  SF_ASSIGN_OR_RETURN(impl->fmt, open_input(path));
  int idx = av_find_best_stream(impl->fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (idx < 0) return bad_media(path + ": has no audio stream");
  impl->stream = idx;
  for (unsigned i = 0; i < impl->fmt->nb_streams; ++i) {
    impl->fmt->streams[i]->discard = static_cast<int>(i) == idx ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
  if (impl->fmt->start_time != AV_NOPTS_VALUE) {
    impl->start = static_cast<double>(impl->fmt->start_time) / AV_TIME_BASE;
  }
  impl->discont_clock = (impl->fmt->iformat->flags & AVFMT_TS_DISCONT) != 0;
  impl->raw_clock = clock_is_made_up(impl->fmt->iformat);
  SF_ASSIGN_OR_RETURN(impl->dec, open_decoder(impl->fmt.get(), idx, 1));
  return std::unique_ptr<AudioReader>(new AudioReader(std::move(impl)));
}

Result<size_t> AudioReader::read(std::span<float> out) {
  size_t n = 0;
  while (n < out.size()) {
    SF_RETURN_IF_ERROR(impl_->fill());
    size_t avail = impl_->pending.size() - impl_->pending_pos;
    if (avail == 0) break;
    size_t take = std::min(avail, out.size() - n);
    std::copy_n(impl_->pending.data() + impl_->pending_pos, take, out.data() + n);
    impl_->pending_pos += take;
    n += take;
  }
  return n;
}

int AudioReader::sample_rate() const { return impl_->rate; }

double AudioReader::duration() const {
  return impl_->fmt->duration != AV_NOPTS_VALUE ? static_cast<double>(impl_->fmt->duration) / AV_TIME_BASE : 0;
}

double AudioReader::start_time() const { return impl_->start; }

Result<std::vector<float>> decode_audio(const std::string& path, int sample_rate) {
  SF_ASSIGN_OR_RETURN(auto reader, AudioReader::open(path, sample_rate));
  std::vector<float> all;
  if (reader->duration() > 0) all.reserve(static_cast<size_t>(reader->duration() * sample_rate) + 4096);
  std::vector<float> block(1 << 15);
  for (;;) {
    SF_ASSIGN_OR_RETURN(size_t n, reader->read(block));
    if (n == 0) break;
    all.insert(all.end(), block.begin(), block.begin() + static_cast<long>(n));
  }
  return all;
}

}  // namespace sf::media
