#include "media/encoders.h"

namespace sf::media {

Result<EncoderChoice> choose_encoder(std::string_view forced, bool cpu_only) {
  (void)cpu_only;
  if (!forced.empty() && forced != "libx264") return unavailable(std::string(forced) + " is not available");
  return EncoderChoice{"libx264", "fast", "cpu"};
}

Result<std::unique_ptr<VideoEncoder>> VideoEncoder::open(const EncoderChoice& choice, int width, int height,
                                                         AVRational fps, bool global_header) {
  const AVCodec* codec = avcodec_find_encoder_by_name(choice.name.c_str());
  if (codec == nullptr) return unavailable("encoder " + choice.name + " is not in this libavcodec");
  auto e = std::make_unique<VideoEncoder>();
  e->ctx_.reset(avcodec_alloc_context3(codec));
  AVCodecContext* c = e->ctx_.get();
  c->width = width;
  c->height = height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->time_base = av_inv_q(fps);
  c->framerate = fps;
  c->gop_size = static_cast<int>(av_q2d(fps) * 2);
  if (global_header) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  av_opt_set(c->priv_data, "preset", choice.preset.c_str(), 0);
  av_opt_set(c->priv_data, "crf", "23", 0);
  int err = avcodec_open2(c, codec, nullptr);
  if (err < 0) return av_status(err, "opening encoder " + choice.name);
  return e;
}

Status VideoEncoder::send(const AVFrame* frame) {
  int err = avcodec_send_frame(ctx_.get(), frame);
  if (err < 0 && err != AVERROR_EOF) return av_status(err, "encoding video");
  return {};
}

int VideoEncoder::receive(AVPacket* pkt) { return avcodec_receive_packet(ctx_.get(), pkt); }

}  // namespace sf::media
