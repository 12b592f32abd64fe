#include "media/av.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <unistd.h>

#include "core/cancel.h"
#include "core/config.h"
#include "core/log.h"
#include "media/remote.h"

namespace sf::media {

void FormatOutputDeleter::operator()(AVFormatContext* p) const {
  if (p == nullptr) return;
  if (p->oformat != nullptr && (p->oformat->flags & AVFMT_NOFILE) == 0 && p->pb != nullptr) {
    avio_closep(&p->pb);
  }
  avformat_free_context(p);
}

FramePtr make_frame() { return FramePtr(av_frame_alloc()); }
PacketPtr make_packet() { return PacketPtr(av_packet_alloc()); }

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

Status av_status(int err, std::string_view what) {
  std::string msg = std::string(what) + ": " + av_error_text(err);
  // The interrupt callback answers a stop request with AVERROR_EXIT.
  if (err == AVERROR_EXIT) return cancelled(std::string(what) + ": stopped on request; no output written");
  if (err == AVERROR(ENOENT)) return not_found(std::move(msg));
  if (err == AVERROR(EACCES) || err == AVERROR(EPERM)) return permission_denied(std::move(msg));
  if (err == AVERROR_INVALIDDATA || err == AVERROR_DECODER_NOT_FOUND ||
      err == AVERROR_DEMUXER_NOT_FOUND || err == AVERROR_STREAM_NOT_FOUND) {
    return bad_media(std::move(msg));
  }
  return internal_error(std::move(msg));
}

namespace {
thread_local AvErrorCapture* t_capture = nullptr;
}  // namespace

void append_captured_error(std::string_view line) {
  if (t_capture == nullptr) return;
  // Drop libav's "[codec @ 0x...] " prefixes: the address means nothing to a reader.
  while (!line.empty() && line.front() == '[') {
    std::size_t end = line.find("] ");
    if (end == std::string_view::npos) break;
    line.remove_prefix(end + 2);
  }
  if (line.empty()) return;
  std::string& text = t_capture->text_;
  if (!text.empty()) text += "; ";
  text += line;
}

AvErrorCapture::AvErrorCapture() : previous_(t_capture) {
  install_log_bridge();
  t_capture = this;
}

AvErrorCapture::~AvErrorCapture() { t_capture = previous_; }

namespace {

void log_callback(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > av_log_get_level() && (level > AV_LOG_ERROR || t_capture == nullptr)) return;
  // libav calls this from many threads, sometimes with partial lines;
  // av_log_format_line2 assembles the prefix and message for us.
  static thread_local char line[1024];
  static thread_local int print_prefix = 1;
  va_list copy;
  va_copy(copy, vl);
  av_log_format_line2(avcl, level, fmt, copy, line, sizeof(line), &print_prefix);
  va_end(copy);
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  if (level <= AV_LOG_ERROR) append_captured_error(text);
  if (level > av_log_get_level()) return;
  if (level <= AV_LOG_ERROR) {
    SF_LOG_DEBUG("libav: {}", text);  // errors surface as Status; keep the raw text at debug
  } else if (level <= AV_LOG_WARNING) {
    SF_LOG_DEBUG("libav: {}", text);
  } else {
    SF_LOG_TRACE("libav: {}", text);
  }
}

}  // namespace

void install_log_bridge() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_callback(log_callback);
    av_log_set_level(log::current_level() <= log::Level::kDebug ? AV_LOG_WARNING : AV_LOG_ERROR);
  });
}

namespace {

int interrupt_requested(void* /*opaque*/) { return cancel_requested() ? 1 : 0; }

bool is_network_error(int err) {
  return err == AVERROR(ETIMEDOUT) || err == AVERROR(ECONNREFUSED) || err == AVERROR(ECONNRESET) ||
         err == AVERROR(ECONNABORTED) || err == AVERROR(EHOSTUNREACH) || err == AVERROR(ENETUNREACH) ||
         err == AVERROR(ENETDOWN) || err == AVERROR(EPIPE) || err == AVERROR(EIO) || err == AVERROR_EOF ||
         err == AVERROR(EAGAIN);
}

Result<InputFormatPtr> open_remote(const std::string& url) {
  SF_RETURN_IF_ERROR(check_location(url));
  AvErrorCapture capture;
  InputFormatPtr holder(avformat_alloc_context());
  if (!holder) return internal_error("cannot allocate a demuxer context");
  holder->interrupt_callback = cancel_interrupt();
  AvDict options;
  set_open_options(url, &options);
  // avformat_open_input frees the context on failure, so it takes the raw pointer.
  AVFormatContext* raw = holder.release();
  int err = avformat_open_input(&raw, url.c_str(), nullptr, options.get());
  if (err < 0) return url_status(err, url, capture.text());
  InputFormatPtr fmt(raw);
  err = avformat_find_stream_info(fmt.get(), nullptr);
  if (err < 0) return url_status(err, url + ": reading stream info", capture.text());
  if (fmt->nb_streams == 0) return bad_media(url + ": contains no streams");
  return fmt;
}

}  // namespace

AVIOInterruptCB cancel_interrupt() { return AVIOInterruptCB{interrupt_requested, nullptr}; }

void set_open_options(const std::string& location, AvDict* options) {
  options->set("protocol_whitelist", protocol_whitelist(location));
  if (!is_http_url(location)) return;
  // A dropped connection resumes where it stopped with a range request:
  // at once, then after 1 and 3 s; a longer outage fails the open or read
  // and is retried, or reported, by the caller.
  options->set("reconnect", "1");
  options->set("reconnect_streamed", "1");
  options->set("reconnect_on_network_error", "1");
  options->set("reconnect_delay_max", "4");
  const double timeout = std::max(1.0, config::env_double("PIPELINE_STAGE_TIMEOUT"));
  options->set("rw_timeout", std::to_string(static_cast<long long>(timeout * 1e6)));
  // Clips and audio are read by seeking; one kept-alive connection serves
  // the range requests instead of a new connection per seek.
  options->set("multiple_requests", "1");
  options->set("user_agent", "studioflow");
}

Status url_status(int err, const std::string& url, const std::string& detail) {
  std::string why = av_error_text(err);
  if (!detail.empty() && detail.find(why) == std::string::npos) why += " (" + detail + ")";
  if (err == AVERROR_EXIT) return cancelled(url + ": stopped");
  if (err == AVERROR_HTTP_NOT_FOUND) return not_found(url + ": HTTP 404 Not Found: the server has no such file");
  if (err == AVERROR_HTTP_UNAUTHORIZED || err == AVERROR_HTTP_FORBIDDEN) {
    return permission_denied(url + ": the server refuses access: " + why);
  }
  if (err == AVERROR_HTTP_SERVER_ERROR || is_network_error(err)) {
    return unavailable(url + ": cannot be read over the network: " + why);
  }
  if (err == AVERROR_HTTP_BAD_REQUEST || err == AVERROR_HTTP_OTHER_4XX) {
    return not_found(url + ": the server refuses the request: " + why);
  }
  if (err == AVERROR_INVALIDDATA) return bad_media(url + ": not a media file libav can read");
  return av_status(err, url + (detail.empty() ? "" : ": " + detail));
}

Result<InputFormatPtr> open_input(const std::string& path) {
  install_log_bridge();
  if (!url_scheme(path).empty()) {
    if (is_http_url(path)) return open_remote(path);
    SF_RETURN_IF_ERROR(check_location(path));  // a local file whose name looks like a URL
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return bad_media(path + ": is a directory, not a media file");
  if (::access(path.c_str(), R_OK) != 0) return permission_denied(path + ": cannot be read");
  InputFormatPtr holder(avformat_alloc_context());
  if (!holder) return internal_error("cannot allocate a demuxer context");
  holder->interrupt_callback = cancel_interrupt();
  AvDict options;
  set_open_options(path, &options);
  // "file:" keeps libav from reading a ':' in a local name as a protocol.
  const std::string target = path.find(':') != std::string::npos ? "file:" + path : path;
  AVFormatContext* raw = holder.release();
  int err = avformat_open_input(&raw, target.c_str(), nullptr, options.get());
  if (err < 0) {
    if (err == AVERROR_INVALIDDATA) return bad_media(path + ": not a media file libav can read");
    return av_status(err, path);
  }
  InputFormatPtr fmt(raw);
  err = avformat_find_stream_info(fmt.get(), nullptr);
  if (err < 0) return av_status(err, path + ": reading stream info");
  if (fmt->nb_streams == 0) return bad_media(path + ": contains no streams");
  return fmt;
}

Result<CodecContextPtr> open_decoder(AVFormatContext* fmt, int stream_index, int threads) {
  AVStream* st = fmt->streams[stream_index];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) {
    return bad_media(std::string(fmt->url) + ": no decoder for codec '" +
                     avcodec_get_name(st->codecpar->codec_id) + "'");
  }
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  if (!ctx) return internal_error("cannot allocate a decoder context");
  int err = avcodec_parameters_to_context(ctx.get(), st->codecpar);
  if (err < 0) return av_status(err, "decoder parameters");
  ctx->pkt_timebase = st->time_base;
  ctx->thread_count = threads;
  err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) return av_status(err, std::string(fmt->url) + ": opening the " + codec->name + " decoder");
  return ctx;
}

}  // namespace sf::media
