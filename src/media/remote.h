// Media locations that are not local files: which URLs studioflow reads,
// how libav reads them, and reading small text resources (playlists) over
// HTTP with the same safety rules.
//
// Only http:// and https:// URLs are ever read. Every other scheme libav
// knows (file:, concat:, subfile:, data:, ftp:, crypto:, pipe: ...) could
// reach local files or other hosts' services through a crafted input, so it
// is refused before anything is opened, and libav's protocol whitelist is set
// on every URL it opens so that nested opens (HLS segments, redirects) obey
// the same rule.
//
// All functions are thread-safe; each call uses its own libav contexts.
// Blocking network calls return kCancelled once sf::cancel_requested().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::media {

// The lower-cased scheme of `input` ("http", "file", "concat") when it starts
// like a URL ("<letter><letters, digits, + - .>:"), else "". One-letter
// schemes are not schemes (a drive letter is a path).
std::string url_scheme(std::string_view input);

// True for http:// and https:// inputs.
bool is_http_url(std::string_view input);

// OK for a local path or an http(s) URL. kInvalidArgument naming the input
// for any other scheme. A local file whose name merely looks like a URL
// (an existing "concat:x.mp4") is a local path.
Status check_location(std::string_view input);

// The protocol whitelist libav gets for `location`: "file" for local paths;
// "http,https,tcp,tls" for URLs, plus "crypto" for HLS playlists (.m3u8),
// whose AES-128 segments are read through crypto+http(s).
std::string protocol_whitelist(std::string_view location);

// A text resource read over HTTP.
struct RemoteText {
  std::string body;       // at most the max_bytes asked for
  std::string mime_type;  // the server's Content-Type, lower case, no parameters ("" when none)
  std::string location;   // the URL finally read (after redirects); relative references resolve against it
};

// Reads `url` (http/https only) up to `max_bytes` bytes; more is an error
// (kUnsupported: too large for a playlist). max_bytes == 0 reads nothing and
// only reports the Content-Type. Errors name the URL: kNotFound (HTTP 404 /
// 410), kPermission (401 / 403), kUnavailable (connection refused, reset,
// timed out, HTTP 5xx: worth retrying), kInvalidArgument (refused scheme),
// kCancelled.
Result<RemoteText> fetch_text(const std::string& url, std::size_t max_bytes);

// What opening a medium tells before any decoding.
struct MediaSummary {
  std::string title;     // the container's "title" tag, "" when none
  double duration = 0;   // seconds; 0 when unknown
  bool has_audio = false;
};

// Opens `location` (local path or URL) with open_input and summarizes it.
// Errors as open_input's.
Result<MediaSummary> summarize(const std::string& location);

// True for errors that another attempt may not have (network trouble,
// server overload), false for ones that will repeat (404, not media).
bool is_transient(const Status& status);

}  // namespace sf::media
