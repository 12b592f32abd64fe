#include "media/remote.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>

#include "media/av.h"

namespace sf::media {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool ends_with_m3u8(std::string_view location) {
  std::string_view path = location.substr(0, location.find_first_of("?#"));
  return path.size() >= 5 && lower(path.substr(path.size() - 5)) == ".m3u8";
}

std::string option_text(AVIOContext* pb, const char* name) {
  uint8_t* value = nullptr;
  if (av_opt_get(pb, name, AV_OPT_SEARCH_CHILDREN, &value) < 0 || value == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(value));
  av_free(value);
  return out;
}

struct AvioCloser {
  void operator()(AVIOContext* pb) const { avio_closep(&pb); }
};

}  // namespace

std::string url_scheme(std::string_view input) {
  std::size_t end = 0;
  while (end < input.size()) {
    unsigned char c = static_cast<unsigned char>(input[end]);
    if (std::isalnum(c) == 0 && c != '+' && c != '-' && c != '.') break;
    ++end;
  }
  if (end < 2 || end == input.size() || std::isalpha(static_cast<unsigned char>(input[0])) == 0) return {};
  // libav also reads "subfile,,start,N,end,M,,:path" as a protocol.
  const bool scheme = input[end] == ':' || (input[end] == ',' && input.find(':', end) != std::string_view::npos);
  return scheme ? lower(input.substr(0, end)) : std::string();
}

bool is_http_url(std::string_view input) {
  std::string scheme = url_scheme(input);
  return (scheme == "http" || scheme == "https") && input.substr(scheme.size(), 3) == "://";
}

Status check_location(std::string_view input) {
  std::string scheme = url_scheme(input);
  if (scheme.empty()) return {};
  if (scheme == "http" || scheme == "https") {
    if (is_http_url(input) && input.size() > scheme.size() + 3) return {};
    return invalid_argument(std::string(input) + ": not a valid " + scheme + " URL (expected " + scheme +
                            "://host/path)");
  }
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(input), ec)) return {};
  return invalid_argument(std::string(input) + ": the '" + scheme +
                          ":' scheme is not allowed; inputs are local files or http:// and https:// URLs");
}

std::string protocol_whitelist(std::string_view location) {
  if (!is_http_url(location)) return "file";
  return ends_with_m3u8(location) ? "http,https,tcp,tls,crypto" : "http,https,tcp,tls";
}

Result<RemoteText> fetch_text(const std::string& url, std::size_t max_bytes) {
  install_log_bridge();
  if (!is_http_url(url)) {
    SF_RETURN_IF_ERROR(check_location(url));
    return invalid_argument(url + ": not an http:// or https:// URL");
  }
  AvErrorCapture capture;
  AvDict options;
  set_open_options(url, &options);
  // A playlist is read once from its start; keep-alive brings nothing here.
  options.set("multiple_requests", "0");
  AVIOInterruptCB interrupt = cancel_interrupt();
  AVIOContext* raw = nullptr;
  int err = avio_open2(&raw, url.c_str(), AVIO_FLAG_READ, &interrupt, options.get());
  if (err < 0) return url_status(err, url, capture.text());
  std::unique_ptr<AVIOContext, AvioCloser> pb(raw);
  RemoteText out;
  out.mime_type = lower(option_text(pb.get(), "mime_type"));
  if (std::size_t semi = out.mime_type.find(';'); semi != std::string::npos) out.mime_type.resize(semi);
  while (!out.mime_type.empty() && out.mime_type.back() == ' ') out.mime_type.pop_back();
  out.location = option_text(pb.get(), "location");
  if (out.location.empty() || !is_http_url(out.location)) out.location = url;
  if (max_bytes == 0) return out;
  unsigned char buf[16384];
  while (true) {
    int n = avio_read(pb.get(), buf, sizeof(buf));
    if (n == AVERROR_EOF || n == 0) break;
    if (n < 0) return url_status(n, url, capture.text());
    out.body.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    if (out.body.size() > max_bytes) {
      return unsupported(url + ": larger than " + std::to_string(max_bytes) + " bytes, too large for a playlist");
    }
  }
  return out;
}

Result<MediaSummary> summarize(const std::string& location) {
  SF_ASSIGN_OR_RETURN(InputFormatPtr fmt, open_input(location));
  MediaSummary s;
  if (const AVDictionaryEntry* t = av_dict_get(fmt->metadata, "title", nullptr, 0); t != nullptr) s.title = t->value;
  if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    s.duration = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  }
  s.has_audio = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
  return s;
}

bool is_transient(const Status& status) { return status.code() == Code::kUnavailable; }

}  // namespace sf::media
