// The encoder session: one open H.264 encoder, driven by the renderer.
// Which encoder to open comes from the ladder (media/encoder_ladder.h).
//
// Thread-safety: an EncoderSession is used by one thread at a time;
// distinct sessions are independent.
#pragma once

#include <cstdint>
#include <memory>

#include "core/status.h"
#include "media/av.h"
#include "media/encoder_ladder.h"

namespace sf::media {

// What the renderer asks of an encoder.
struct EncoderSettings {
  int width = 0;               // > 0 and even (4:2:0 chroma)
  int height = 0;              // > 0 and even
  AVRational fps{25, 1};       // frame rate; the codec time base is 1/fps
  bool global_header = false;  // set when the muxer has AVFMT_GLOBALHEADER (mp4, mkv, mov)
  int threads = 0;             // software encoder threads; 0 = libav's choice
  int gop_size = 0;            // frames between keyframes; 0 = encoder default
};

// One open encoder. Owns the AVCodecContext and, for VAAPI, the hardware
// device and frames contexts; converts and uploads the software frames it
// is given (to NV12 for QSV, to NV12 surfaces for VAAPI, scaled when the
// size differs from the session's).
//
// Use:
//   SF_ASSIGN_OR_RETURN(auto enc, EncoderSession::open(choice, settings));
//   SF_RETURN_IF_ERROR(enc->configure_stream(stream));
//   for each picture: frame->pts = n (in enc->time_base()); enc->send(frame);
//                     while (enc->receive(pkt) is true) {
//                       av_packet_rescale_ts(pkt, enc->time_base(), stream->time_base);
//                       pkt->stream_index = stream->index; av_interleaved_write_frame(...);
//                     }
//   at the end:       enc->send(nullptr); receive until false (drained()).
//
// Not copyable or movable (libav holds pointers into it); not thread-safe.
class EncoderSession {
 public:
  // Opens `choice` for `settings`. kInvalidArgument for bad settings or an
  // encoder name libavcodec does not know; kUnavailable (with libav's own
  // explanation where it logged one) when the encoder, the hardware device
  // or the frames context cannot be set up on this machine.
  static Result<std::unique_ptr<EncoderSession>> open(const EncoderChoice& choice, const EncoderSettings& settings);

  ~EncoderSession();
  EncoderSession(const EncoderSession&) = delete;
  EncoderSession& operator=(const EncoderSession&) = delete;

  // Sends one picture, or flushes when `frame` is null. The frame is a
  // software frame of any pixel format and size (YUV420P at the session's
  // size is passed through without a copy; anything else is converted).
  // Its pts is in time_base(); AV_NOPTS_VALUE means "next frame" (numbered
  // from 0 by the session). The caller keeps ownership of `frame`.
  // REQUIRES: every packet from the previous send was received (receive()
  // returned false), and no flush was sent before.
  // kInvalidArgument for a hardware frame or a send after the flush.
  Status send(const AVFrame* frame);

  // Takes the next encoded packet into `packet` (which the caller owns and
  // must unref or hand to av_interleaved_write_frame). Timestamps are in
  // time_base(). Returns true when a packet was written; false when the
  // encoder needs the next frame, or — after the flush — has nothing left
  // (then drained() is true).
  Result<bool> receive(AVPacket* packet);

  // True once the flush has been sent and every packet received.
  bool drained() const { return drained_; }

  // Fills a new output stream from the open encoder: codec parameters
  // (extradata included), time base and frame rate. Call after open() and
  // before avformat_write_header (which may still change the time base:
  // rescale packets from time_base() to stream->time_base).
  Status configure_stream(AVStream* stream) const;

  // The open codec context: for avcodec_parameters_from_context, extradata
  // (with global_header), pixel format. Owned by the session.
  AVCodecContext* codec_context() const { return ctx_.get(); }
  AVRational time_base() const { return ctx_->time_base; }
  const EncoderChoice& choice() const { return choice_; }

 private:
  EncoderSession() = default;
  Status convert(const AVFrame* in, const AVFrame** out);

  EncoderChoice choice_;
  CodecContextPtr ctx_;
  BufferRefPtr hw_device_;  // VAAPI only
  BufferRefPtr hw_frames_;  // VAAPI only
  AVPixelFormat input_format_ = AV_PIX_FMT_NONE;  // the software format the encoder (or upload) takes
  SwsPtr sws_;
  FramePtr converted_;  // reused between sends
  FramePtr hw_frame_;   // reused between sends (VAAPI)
  std::int64_t next_pts_ = 0;
  bool flushed_ = false;
  bool drained_ = false;
};

// Opens the AAC encoder every output uses: stereo float planar at
// `sample_rate`, `bit_rate` bits/s, the "fast" coder (the default two-loop
// search costs several times more CPU for no audible gain on speech).
// Errors: kUnavailable when libavcodec lacks AAC.
Result<CodecContextPtr> open_aac_encoder(int sample_rate, int bit_rate, bool global_header);

}  // namespace sf::media
