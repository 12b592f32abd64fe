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
#include <libavutil/timecode.h>
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

// An owned AVDictionary (libav's option lists), freed on destruction.
// Not copyable.
class AvDict {
 public:
  AvDict() = default;
  ~AvDict() { av_dict_free(&d_); }
  AvDict(const AvDict&) = delete;
  AvDict& operator=(const AvDict&) = delete;

  void set(const char* key, const std::string& value) { av_dict_set(&d_, key, value.c_str(), 0); }
  AVDictionary** get() { return &d_; }

 private:
  AVDictionary* d_ = nullptr;
};

// An interrupt callback that makes blocking libav I/O (connects, reads,
// reconnect waits) return AVERROR_EXIT once sf::cancel_requested().
AVIOInterruptCB cancel_interrupt();

// The options libav gets when opening `location`: the protocol whitelist
// (media/remote.h) and, for URLs, reconnects with backoff on dropped
// connections and network errors, an I/O timeout (PIPELINE_STAGE_TIMEOUT
// seconds without progress) and persistent connections for range requests.
void set_open_options(const std::string& location, AvDict* options);

// Status for a failed libav open/read of URL `url`: HTTP 404/410 ->
// kNotFound, 401/403 -> kPermission, network errors and 5xx -> kUnavailable,
// AVERROR_EXIT -> kCancelled; `detail` (libav's logged text) is appended.
Status url_status(int err, const std::string& url, const std::string& detail);

// Opens `path` for demuxing and reads stream info. `path` is a local file or
// an http(s) URL (media file or HLS playlist); every other scheme is refused
// (kInvalidArgument). URLs are read with range requests, so only the parts
// that are demuxed are fetched. Errors name the path: kNotFound (missing,
// HTTP 404), kPermission (unreadable), kBadMedia (not media), kUnavailable
// (network), kCancelled.
Result<InputFormatPtr> open_input(const std::string& path);

// Opens a decoder for stream `stream_index` of `fmt`, with `threads` threads
// (0 = libav's choice).
Result<CodecContextPtr> open_decoder(AVFormatContext* fmt, int stream_index, int threads = 0);

}  // namespace sf::media
