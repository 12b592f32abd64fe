#include "media/encode_floor.h"

#include <chrono>
#include <cmath>

#include "media/av.h"
#include "media/encoders.h"
#include "media/render.h"

namespace sf::media {
namespace {

// A picture that keeps the encoder honest: a diagonal gradient drifting
// across the frame plus a grid of tiles scrolling at another speed, so every
// frame differs from the last and motion search has real work, unlike a
// still or flat frame that x264 would skip almost for free.
void draw_frame(AVFrame* f, long long n) {
  const int t = static_cast<int>(n % 100000);
  for (int y = 0; y < f->height; ++y) {
    uint8_t* row = f->data[0] + static_cast<ptrdiff_t>(y) * f->linesize[0];
    const int ty = (y + t) / 40;
    for (int x = 0; x < f->width; ++x) {
      const int tx = (x + 3 * t) / 40;
      const bool tile = ((tx * 7 + ty * 13) % 5) == 0;
      const int g = (x + 2 * y + 4 * t) % 220;
      row[x] = static_cast<uint8_t>(tile ? 235 - g / 3 : 16 + g);
    }
  }
  for (int y = 0; y < f->height / 2; ++y) {
    uint8_t* u = f->data[1] + static_cast<ptrdiff_t>(y) * f->linesize[1];
    uint8_t* v = f->data[2] + static_cast<ptrdiff_t>(y) * f->linesize[2];
    for (int x = 0; x < f->width / 2; ++x) {
      u[x] = static_cast<uint8_t>(64 + (x + t) % 128);
      v[x] = static_cast<uint8_t>(64 + (y + 2 * t) % 128);
    }
  }
}

class FloorEncoder {
 public:
  explicit FloorEncoder(const EncodeFloorOptions& o) : opt_(o) {}

  Status run(const std::string& output, EncodeFloorResult* result) {
    const AVRational fps = av_d2q(opt_.fps, 100000);
    AVFormatContext* raw = nullptr;
    int err = avformat_alloc_output_context2(&raw, nullptr, "mp4", output.c_str());
    if (err < 0) return av_status(err, "creating the output");
    out_.reset(raw);
    const bool global_header = (out_->oformat->flags & AVFMT_GLOBALHEADER) != 0;

    SF_ASSIGN_OR_RETURN(EncoderChoice choice, choose_encoder(opt_.encoder, opt_.cpu_only));
    SF_ASSIGN_OR_RETURN(venc_, VideoEncoder::open(choice, opt_.width, opt_.height, fps, global_header));
    result->encoder = choice.name;
    result->preset = choice.preset;
    vst_ = avformat_new_stream(out_.get(), nullptr);
    err = avcodec_parameters_from_context(vst_->codecpar, venc_->context());
    if (err < 0) return av_status(err, "video stream parameters");
    vst_->time_base = venc_->context()->time_base;
    vst_->avg_frame_rate = fps;
    if (opt_.audio) SF_RETURN_IF_ERROR(open_audio(global_header));

    err = avio_open(&out_->pb, output.c_str(), AVIO_FLAG_WRITE);
    if (err < 0) return av_status(err, output + ": opening for writing");
    err = avformat_write_header(out_.get(), nullptr);
    if (err < 0) return av_status(err, "writing the MP4 header");

    FramePtr frame = make_frame();
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = opt_.width;
    frame->height = opt_.height;
    err = av_frame_get_buffer(frame.get(), 0);
    if (err < 0) return av_status(err, "allocating a frame");
    for (long long n = 0; n < opt_.frames; ++n) {
      err = av_frame_make_writable(frame.get());
      if (err < 0) return av_status(err, "frame buffer");
      draw_frame(frame.get(), n);
      frame->pts = n;
      SF_RETURN_IF_ERROR(encode_video(frame.get()));
      if (aenc_) SF_RETURN_IF_ERROR(encode_audio_until(av_rescale_q(n + 1, av_inv_q(fps), aenc_->time_base)));
    }
    SF_RETURN_IF_ERROR(encode_video(nullptr));
    if (aenc_) SF_RETURN_IF_ERROR(encode_audio(nullptr));
    err = av_write_trailer(out_.get());
    if (err < 0) return av_status(err, "finishing the MP4");
    out_.reset();
    return {};
  }

 private:
  Status open_audio(bool global_header) {
    const RenderOptions defaults;
    const AVCodec* aac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (aac == nullptr) return unavailable("no AAC encoder in this libavcodec");
    aenc_.reset(avcodec_alloc_context3(aac));
    aenc_->sample_rate = defaults.audio_rate;
    aenc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    av_channel_layout_copy(&aenc_->ch_layout, &stereo);
    aenc_->bit_rate = defaults.audio_bitrate;
    aenc_->time_base = AVRational{1, defaults.audio_rate};
    if (global_header) aenc_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int err = avcodec_open2(aenc_.get(), aac, nullptr);
    if (err < 0) return av_status(err, "opening the AAC encoder");
    ast_ = avformat_new_stream(out_.get(), nullptr);
    err = avcodec_parameters_from_context(ast_->codecpar, aenc_.get());
    if (err < 0) return av_status(err, "audio stream parameters");
    ast_->time_base = aenc_->time_base;
    return {};
  }

  // Sends tone frames until `samples` have been sent (the last frame may be
  // short only at the very end, as in the renderer).
  Status encode_audio_until(long long samples) {
    const int fs = aenc_->frame_size;
    while (samples_sent_ + fs <= samples) {
      FramePtr f = make_frame();
      f->nb_samples = fs;
      f->format = AV_SAMPLE_FMT_FLTP;
      f->sample_rate = aenc_->sample_rate;
      av_channel_layout_copy(&f->ch_layout, &aenc_->ch_layout);
      int err = av_frame_get_buffer(f.get(), 0);
      if (err < 0) return av_status(err, "audio frame");
      for (int c = 0; c < 2; ++c) {
        auto* p = reinterpret_cast<float*>(f->data[c]);
        for (int i = 0; i < fs; ++i) {
          const double t = static_cast<double>(samples_sent_ + i) / aenc_->sample_rate;
          p[i] = static_cast<float>(0.2 * std::sin(2 * M_PI * (c == 0 ? 440.0 : 660.0) * t));
        }
      }
      f->pts = samples_sent_;
      samples_sent_ += fs;
      SF_RETURN_IF_ERROR(encode_audio(f.get()));
    }
    return {};
  }

  Status encode_audio(const AVFrame* f) {
    int err = avcodec_send_frame(aenc_.get(), f);
    if (err < 0 && err != AVERROR_EOF) return av_status(err, "encoding audio");
    return drain(aenc_.get(), ast_, [&](AVPacket* p) { return avcodec_receive_packet(aenc_.get(), p); });
  }

  Status encode_video(const AVFrame* f) {
    SF_RETURN_IF_ERROR(venc_->send(f));
    return drain(venc_->context(), vst_, [&](AVPacket* p) { return venc_->receive(p); });
  }

  template <typename Receive>
  Status drain(const AVCodecContext* ctx, AVStream* st, Receive receive) {
    for (;;) {
      int err = receive(pkt_.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
      if (err < 0) return av_status(err, "encoding");
      av_packet_rescale_ts(pkt_.get(), ctx->time_base, st->time_base);
      pkt_->stream_index = st->index;
      err = av_interleaved_write_frame(out_.get(), pkt_.get());
      if (err < 0) return av_status(err, "writing a packet");
    }
  }

  const EncodeFloorOptions& opt_;
  OutputFormatPtr out_;
  std::unique_ptr<VideoEncoder> venc_;
  CodecContextPtr aenc_;
  AVStream* vst_ = nullptr;
  AVStream* ast_ = nullptr;
  PacketPtr pkt_ = make_packet();
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
  EncodeFloorResult result;
  const auto t0 = std::chrono::steady_clock::now();
  FloorEncoder enc(options);
  Status st = enc.run(output, &result);
  if (!st.ok()) return st;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.frames = options.frames;
  result.fps_encoded = result.seconds > 0 ? static_cast<double>(result.frames) / result.seconds : 0;
  return result;
}

}  // namespace sf::media
