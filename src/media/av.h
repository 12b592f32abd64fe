// The one wrapper over the libav* C libraries. Only src/media/ includes this
// header; nothing outside media/ sees a libav type.
//
// Each libav object gets a deleter and a unique_ptr alias. libav error codes
// become Status here (av_status) and nowhere else.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::media {

struct FormatInputDeleter {
  void operator()(AVFormatContext* p) const { avformat_close_input(&p); }
};
struct FormatOutputDeleter {
  void operator()(AVFormatContext* p) const;  // closes pb (if opened) and frees
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* p) const { av_frame_free(&p); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwrDeleter {
  void operator()(SwrContext* p) const { swr_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* p) const { sws_freeContext(p); }
};
struct AudioFifoDeleter {
  void operator()(AVAudioFifo* p) const { av_audio_fifo_free(p); }
};
struct FilterGraphDeleter {
  void operator()(AVFilterGraph* p) const { avfilter_graph_free(&p); }
};
struct FilterInOutDeleter {
  void operator()(AVFilterInOut* p) const { avfilter_inout_free(&p); }
};
struct BufferRefDeleter {
  void operator()(AVBufferRef* p) const { av_buffer_unref(&p); }
};

using InputFormatPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, FormatOutputDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, AudioFifoDeleter>;
using BufferRefPtr = std::unique_ptr<AVBufferRef, BufferRefDeleter>;
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;
using FilterInOutPtr = std::unique_ptr<AVFilterInOut, FilterInOutDeleter>;

FramePtr make_frame();
PacketPtr make_packet();

// libav error text for `err` (an AVERROR code).
std::string av_error_text(int err);

// Status for a failed libav call: "<what>: <libav's text>". The code is
// kNotFound / kPermission / kBadMedia / kInternal as the error suggests.
Status av_status(int err, std::string_view what);

// Routes libav's log output into our logger (once per process). libav's
// own verbosity follows ours, one step quieter.
void install_log_bridge();

// Collects the error lines libav logs on the calling thread while alive,
// so that a Status can carry libav's own explanation ("Cannot load
// libcuda.so.1"), which the AVERROR code alone loses. Installs the log
// bridge. Scoped to one thread (lines logged by libav's worker threads are
// not seen); captures nest, the innermost one receives. Not copyable.
class AvErrorCapture {
 public:
  AvErrorCapture();
  ~AvErrorCapture();
  AvErrorCapture(const AvErrorCapture&) = delete;
  AvErrorCapture& operator=(const AvErrorCapture&) = delete;

  // The captured lines joined with "; " (empty when libav logged no error).
  const std::string& text() const { return text_; }
  void clear() { text_.clear(); }

 private:
  friend void append_captured_error(std::string_view line);
  std::string text_;
  AvErrorCapture* previous_;
};

// Opens `path` for demuxing and reads stream info. Errors name the path:
// kNotFound (missing), kPermission (unreadable), kBadMedia (not media).
Result<InputFormatPtr> open_input(const std::string& path);

// Opens a decoder for stream `stream_index` of `fmt`, with `threads` threads
// (0 = libav's choice).
Result<CodecContextPtr> open_decoder(AVFormatContext* fmt, int stream_index, int threads = 0);

}  // namespace sf::media
