#include "media/mp4_writer.h"

#include "media/encoders.h"

namespace sf::media {

Mp4Writer::~Mp4Writer() = default;

Result<std::unique_ptr<Mp4Writer>> Mp4Writer::open(const std::string& path, const Mp4WriterOptions& o) {
  std::unique_ptr<Mp4Writer> w(new Mp4Writer());
  AVFormatContext* raw = nullptr;
  int err = avformat_alloc_output_context2(&raw, nullptr, o.edit_codec.empty() ? "mp4" : "mov", path.c_str());
  if (err < 0) return av_status(err, path + ": creating the output");
  w->out_.reset(raw);
  const bool global_header = (w->out_->oformat->flags & AVFMT_GLOBALHEADER) != 0;

  if (o.edit_codec.empty()) {
    SF_ASSIGN_OR_RETURN(w->choice_, choose_encoder(o.encoder, o.cpu_only));
  } else {
    SF_ASSIGN_OR_RETURN(w->choice_, edit_encoder(o.edit_codec));
  }
  EncoderSettings settings;
  settings.width = o.width;
  settings.height = o.height;
  settings.fps = o.fps;
  settings.global_header = global_header;
  settings.gop_size = o.gop_size;
  SF_ASSIGN_OR_RETURN(w->venc_, EncoderSession::open(w->choice_, settings));
  w->vst_ = avformat_new_stream(w->out_.get(), nullptr);
  SF_RETURN_IF_ERROR(w->venc_->configure_stream(w->vst_));
  if (!o.timecode.empty()) av_dict_set(&w->vst_->metadata, "timecode", o.timecode.c_str(), 0);

  if (o.audio) {
    SF_ASSIGN_OR_RETURN(w->aenc_, open_aac_encoder(o.audio_rate, o.audio_bitrate, global_header));
    w->ast_ = avformat_new_stream(w->out_.get(), nullptr);
    err = avcodec_parameters_from_context(w->ast_->codecpar, w->aenc_.get());
    if (err < 0) return av_status(err, "audio stream parameters");
    w->ast_->time_base = w->aenc_->time_base;
  }

  err = avio_open(&w->out_->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (err < 0) return av_status(err, path + ": opening for writing");
  err = avformat_write_header(w->out_.get(), nullptr);
  if (err < 0) return av_status(err, path + ": writing the MP4 header");
  return w;
}

int Mp4Writer::audio_frame_size() const { return aenc_ ? aenc_->frame_size : 1024; }

Status Mp4Writer::write_video(const AVFrame* frame) {
  SF_RETURN_IF_ERROR(venc_->send(frame));
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool got, venc_->receive(pkt_.get()));
    if (!got) return {};
    av_packet_rescale_ts(pkt_.get(), venc_->time_base(), vst_->time_base);
    pkt_->stream_index = vst_->index;
    int err = av_interleaved_write_frame(out_.get(), pkt_.get());
    if (err < 0) return av_status(err, "writing video");
  }
}

Status Mp4Writer::write_audio(const AVFrame* frame) {
  if (!aenc_) return internal_error("this MP4 has no audio stream");
  int err = avcodec_send_frame(aenc_.get(), frame);
  if (err < 0 && err != AVERROR_EOF) return av_status(err, "encoding audio");
  return write_packets_from_audio();
}

Status Mp4Writer::write_packets_from_audio() {
  for (;;) {
    int err = avcodec_receive_packet(aenc_.get(), pkt_.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
    if (err < 0) return av_status(err, "encoding audio");
    av_packet_rescale_ts(pkt_.get(), aenc_->time_base, ast_->time_base);
    pkt_->stream_index = ast_->index;
    err = av_interleaved_write_frame(out_.get(), pkt_.get());
    if (err < 0) return av_status(err, "writing audio");
  }
}

Status Mp4Writer::finish() {
  SF_RETURN_IF_ERROR(write_video(nullptr));
  if (aenc_) SF_RETURN_IF_ERROR(write_audio(nullptr));
  int err = av_write_trailer(out_.get());
  if (err < 0) return av_status(err, "finishing the MP4");
  out_.reset();  // closes the file
  return {};
}

}  // namespace sf::media
