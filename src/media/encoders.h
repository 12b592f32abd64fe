// Video encoder choice and encoding sessions (minimal libx264 version).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "media/av.h"

namespace sf::media {

struct EncoderChoice {
  std::string name;    // e.g. "libx264"
  std::string preset;  // e.g. "fast"
  std::string kind;    // "nvenc" | "qsv" | "vaapi" | "amf" | "cpu"
};

Result<EncoderChoice> choose_encoder(std::string_view forced, bool cpu_only);

// An open video encoder that takes YUV420P frames. Not thread-safe.
class VideoEncoder {
 public:
  static Result<std::unique_ptr<VideoEncoder>> open(const EncoderChoice& choice, int width, int height,
                                                    AVRational fps, bool global_header);
  AVCodecContext* context() const { return ctx_.get(); }
  // Sends one frame (pts in 1/fps units) or nullptr to flush.
  Status send(const AVFrame* frame);
  // avcodec_receive_packet semantics.
  int receive(AVPacket* pkt);

 private:
  CodecContextPtr ctx_;
};

}  // namespace sf::media
