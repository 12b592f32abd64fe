#include "media/av.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include <unistd.h>

#include "core/log.h"

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

Result<InputFormatPtr> open_input(const std::string& path) {
  install_log_bridge();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return bad_media(path + ": is a directory, not a media file");
  if (::access(path.c_str(), R_OK) != 0) return permission_denied(path + ": cannot be read");
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
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
