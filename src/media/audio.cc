#include "media/audio.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "media/av.h"

namespace sf::media {

struct AudioReader::Impl {
  std::string path;
  int rate = 16000;
  InputFormatPtr fmt;
  CodecContextPtr dec;
  SwrPtr swr;
  PacketPtr pkt = make_packet();
  FramePtr frame = make_frame();
  int stream = -1;
  bool first_frame = true;
  bool input_done = false;   // demuxer exhausted, decoder flushed
  bool flushed_swr = false;
  std::vector<float> pending;  // converted samples not yet handed out
  size_t pending_pos = 0;
  int64_t drop = 0;  // samples to drop (input starts before time zero)

  Status init_swr() {
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_FLT, rate, &dec->ch_layout, dec->sample_fmt,
                                  dec->sample_rate, 0, nullptr);
    if (err < 0) return av_status(err, path + ": audio resampler");
    swr.reset(raw);
    err = swr_init(swr.get());
    if (err < 0) return av_status(err, path + ": audio resampler");
    return {};
  }

  Status convert(const AVFrame* f) {
    if (first_frame) {
      first_frame = false;
      if (f != nullptr && f->pts != AV_NOPTS_VALUE) {
        double t0 = static_cast<double>(f->pts) * av_q2d(fmt->streams[stream]->time_base);
        auto n = static_cast<int64_t>(std::llround(t0 * rate));
        if (n > 0) pending.insert(pending.end(), static_cast<size_t>(n), 0.0f);
        if (n < 0) drop = -n;
      }
    }
    int in = f != nullptr ? f->nb_samples : 0;
    int cap = swr_get_out_samples(swr.get(), in);
    if (cap <= 0) return {};
    size_t old = pending.size();
    pending.resize(old + static_cast<size_t>(cap));
    auto* out = reinterpret_cast<uint8_t*>(pending.data() + old);
    int got = swr_convert(swr.get(), &out, cap, f != nullptr ? const_cast<const uint8_t**>(f->extended_data) : nullptr, in);
    if (got < 0) return av_status(got, path + ": converting audio");
    pending.resize(old + static_cast<size_t>(got));
    if (drop > 0) {
      auto d = static_cast<size_t>(std::min<int64_t>(drop, static_cast<int64_t>(pending.size() - pending_pos)));
      pending_pos += d;
      drop -= static_cast<int64_t>(d);
    }
    return {};
  }

  // Decodes until some samples are pending or the stream ends.
  Status fill() {
    while (pending_pos >= pending.size() && !flushed_swr) {
      pending.clear();
      pending_pos = 0;
      int err = avcodec_receive_frame(dec.get(), frame.get());
      if (err == 0) {
        SF_RETURN_IF_ERROR(convert(frame.get()));
        av_frame_unref(frame.get());
        continue;
      }
      if (err == AVERROR_EOF) {
        SF_RETURN_IF_ERROR(convert(nullptr));
        flushed_swr = true;
        break;
      }
      if (err != AVERROR(EAGAIN)) return av_status(err, path + ": decoding audio");
      if (input_done) {
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
  SF_ASSIGN_OR_RETURN(impl->dec, open_decoder(impl->fmt.get(), idx, 1));
  SF_RETURN_IF_ERROR(impl->init_swr());
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
