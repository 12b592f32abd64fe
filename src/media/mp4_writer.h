// An MP4 being written: H.264 from the encoder ladder plus (optionally)
// 48 kHz stereo AAC, interleaved by libavformat. The renderer and the
// render-floor benchmark both write through this, so the floor measures
// exactly the renderer's output path. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "media/av.h"
#include "media/encoders.h"

namespace sf::media {

struct Mp4WriterOptions {
  int width = 0, height = 0;
  AVRational fps{25, 1};
  std::string encoder;  // forced encoder name; empty: ladder
  bool cpu_only = false;
  bool audio = true;
  int audio_rate = 48000;
  int audio_bitrate = 160000;
  int gop_size = 0;      // frames between keyframes; 0: the encoder's default
  std::string timecode;  // start timecode ("01:00:00:00"): written as a tmcd track; empty: none
  // "prores" | "dnxhr": that editing codec instead of H.264 (see
  // edit_encoder()), in a QuickTime MOV instead of an MP4.
  std::string edit_codec;
};

class Mp4Writer {
 public:
  // Creates `path` (the caller chooses a temporary name and renames it) and
  // writes the header. Errors: kInvalidArgument / kUnavailable from the
  // encoder choice, kOutput-like libav errors naming `path`.
  static Result<std::unique_ptr<Mp4Writer>> open(const std::string& path, const Mp4WriterOptions& options);
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;
  ~Mp4Writer();

  const EncoderChoice& encoder() const { return choice_; }
  // Samples per AAC frame (every audio frame but the last must have this many).
  int audio_frame_size() const;

  // Encodes one picture (any software format; pts in frames) and writes
  // what the encoder returns.
  Status write_video(const AVFrame* frame);
  // Encodes one FLTP stereo frame (pts in samples) and writes the packets.
  Status write_audio(const AVFrame* frame);
  // Flushes both encoders, writes the trailer and closes the file.
  Status finish();

 private:
  Mp4Writer() = default;
  Status write_packets_from_audio();

  OutputFormatPtr out_;
  std::unique_ptr<EncoderSession> venc_;
  CodecContextPtr aenc_;
  AVStream* vst_ = nullptr;
  AVStream* ast_ = nullptr;
  PacketPtr pkt_ = make_packet();
  EncoderChoice choice_;
};

}  // namespace sf::media
