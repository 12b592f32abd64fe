#include "pipeline/resolve.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/cancel.h"
#include "core/command.h"
#include "core/config.h"
#include "core/log.h"
#include "media/remote.h"

namespace sf::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPlaylistBytes = 16 << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The path part of a URL or local path, without query and fragment.
std::string_view path_part(std::string_view location) {
  if (media::is_http_url(location)) {
    std::size_t start = location.find("://") + 3;
    std::size_t slash = location.find('/', start);
    if (slash == std::string_view::npos) return {};
    location = location.substr(slash);
    return location.substr(0, location.find_first_of("?#"));
  }
  return location;
}

std::string extension(std::string_view location) {
  std::string_view p = path_part(location);
  std::size_t slash = p.rfind('/');
  std::size_t dot = p.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  return lower(p.substr(dot + 1));
}

bool is_media_extension(const std::string& ext) {
  static constexpr std::string_view kMedia[] = {"mp4", "m4v", "m4a", "mov", "mkv", "webm", "mka", "avi",
                                                "ts",  "mts", "m2ts", "mpg", "mpeg", "flv", "ogg", "ogv",
                                                "oga", "opus", "mp3", "aac", "wav", "flac", "wma", "wmv", "3gp"};
  return std::find(std::begin(kMedia), std::end(kMedia), ext) != std::end(kMedia);
}

bool is_playlist_mime(const std::string& mime) {
  return mime == "application/vnd.apple.mpegurl" || mime == "application/x-mpegurl" || mime == "audio/x-mpegurl" ||
         mime == "audio/mpegurl";
}

bool is_html_mime(const std::string& mime) { return mime == "text/html" || mime == "application/xhtml+xml"; }

// Removes "." and ".." segments of a URL path (RFC 3986, 5.2.4).
std::string remove_dot_segments(const std::string& path) {
  std::vector<std::string> segs;
  const bool absolute = !path.empty() && path[0] == '/';
  bool trailing = false;
  for (std::size_t i = absolute ? 1 : 0;;) {
    std::size_t j = path.find('/', i);
    const bool last = j == std::string::npos;
    std::string seg = path.substr(i, last ? std::string::npos : j - i);
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      trailing = last;
    } else if (seg == ".") {
      trailing = last;
    } else {
      segs.push_back(std::move(seg));
      trailing = false;
    }
    if (last) break;
    i = j + 1;
  }
  std::string joined = absolute ? "/" : "";
  for (std::size_t k = 0; k < segs.size(); ++k) joined += (k == 0 ? "" : "/") + segs[k];
  if (trailing && !segs.empty()) joined += "/";
  return joined;
}

Status with_retries(const ResolveOptions& o, const std::string& what, const std::function<Status()>& fn) {
  double wait = o.backoff;
  Status st;
  for (int attempt = 1;; ++attempt) {
    if (cancel_requested()) return cancelled(what + ": stopped");
    st = fn();
    if (st.ok() || !media::is_transient(st) || attempt >= std::max(1, o.attempts)) return st;
    SF_LOG_WARN("{} (try {} of {}); trying again in {:.1f} s", st.message(), attempt, o.attempts, wait);
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait);
    while (std::chrono::steady_clock::now() < until && !cancel_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    wait *= 2;
  }
}

Result<std::string> read_local_text(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no such file");
  if (fs::is_directory(path, ec)) return bad_media(path + ": is a directory, not a playlist");
  if (fs::file_size(path, ec) > kMaxPlaylistBytes) return unsupported(path + ": too large for a playlist");
  std::ifstream in(path, std::ios::binary);
  if (!in) return permission_denied(path + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Candidate {
  std::string location;
  std::string source;
  std::string title;  // from the listing (playlist, yt-dlp); "" when none
  InputKind kind = InputKind::kFile;
  bool fatal = false;  // an argument naming a local file: its failure stops the job
};

class Expander {
 public:
  explicit Expander(const ResolveOptions& o) : o_(o) {}

  // Expands `location`; an error returned is fatal (a refused argument, a
  // cancel), others land in errors.
  Status expand(const std::string& location, const std::string& source, const std::string& title, int depth,
                bool top) {
    if (cancel_requested()) return cancelled(location + ": stopped");
    Status refused = media::check_location(location);
    if (!refused.ok()) {
      if (top) return refused;
      errors.push_back({location, refused});
      return {};
    }
    if (depth > o_.max_depth) {
      errors.push_back({location, unsupported(location + ": playlists nested deeper than " +
                                               std::to_string(o_.max_depth) + " levels")});
      return {};
    }
    const std::string ext = extension(location);
    if (!media::is_http_url(location)) return expand_local(location, source, title, depth, top, ext);
    if (ext == "m3u" || ext == "m3u8") return expand_remote_playlist(location, source, title, depth, ext);
    if (is_media_extension(ext)) {
      add({location, source, title, InputKind::kUrl, false});
      return {};
    }
    // Not recognisable by its name: the server's Content-Type decides.
    media::RemoteText head;
    Status st = with_retries(o_, location, [&] {
      auto r = media::fetch_text(location, 0);
      if (!r.ok()) return r.status();
      head = std::move(r).value();
      return Status();
    });
    if (!st.ok()) return record(location, st);
    if (is_html_mime(head.mime_type)) return expand_page(location, source, title, depth);
    if (is_playlist_mime(head.mime_type)) return expand_remote_playlist(location, source, title, depth, "m3u8");
    add({location, source, title, InputKind::kUrl, false});
    return {};
  }

  std::vector<Candidate> candidates;
  std::vector<InputError> errors;

 private:
  void add(Candidate c) { candidates.push_back(std::move(c)); }

  Status record(const std::string& location, const Status& st) {
    if (st.code() == Code::kCancelled) return st;
    errors.push_back({location, st});
    return {};
  }

  Status expand_local(const std::string& path, const std::string& source, const std::string& title, int depth,
                      bool top, const std::string& ext) {
    if (ext == "m3u" || ext == "m3u8") {
      auto text = read_local_text(path);
      if (!text.ok()) {
        if (top) return text.status();
        errors.push_back({path, text.status()});
        return {};
      }
      if (ext == "m3u8" && is_hls_playlist(*text)) {
        add({path, source, title, InputKind::kHls, top});
        return {};
      }
      return expand_entries(*text, path, depth);
    }
    add({path, source, title, InputKind::kFile, top});
    return {};
  }

  Status expand_remote_playlist(const std::string& url, const std::string& source, const std::string& title,
                                int depth, const std::string& ext) {
    media::RemoteText text;
    Status st = with_retries(o_, url, [&] {
      auto r = media::fetch_text(url, kMaxPlaylistBytes);
      if (!r.ok()) return r.status();
      text = std::move(r).value();
      return Status();
    });
    if (!st.ok()) return record(url, st);
    if (is_hls_playlist(text.body)) {
      add({url, source, title, InputKind::kHls, false});
      return {};
    }
    if (is_html_mime(text.mime_type)) {
      return record(url, bad_media(url + ": the server sent a web page, not a playlist (" + ext + ")"));
    }
    return expand_entries(text.body, text.location, depth);
  }

  Status expand_entries(const std::string& text, const std::string& playlist, int depth) {
    std::vector<PlaylistEntry> entries = parse_m3u(text, playlist);
    if (entries.empty()) return record(playlist, bad_media(playlist + ": playlist lists no media"));
    for (const auto& e : entries) SF_RETURN_IF_ERROR(expand(e.location, playlist, e.title, depth + 1, false));
    return {};
  }

  Status expand_page(const std::string& url, const std::string& source, const std::string& title, int depth) {
    auto run = run_command({o_.yt_dlp, "-J", "--flat-playlist", "--no-warnings", "-f", "b", "--", url},
                           CommandOptions{300, 64 << 20});
    if (!run.ok()) {
      if (run.status().code() == Code::kNotFound) {
        return record(url, unsupported(url + ": is a web page; finding its videos needs yt-dlp, which is not "
                                              "installed (install it with: apt-get install yt-dlp)"));
      }
      return record(url, run.status().with_context(url));
    }
    if (run->exit_code != 0) {
      std::string why = run->err;
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      if (std::size_t nl = why.rfind('\n'); nl != std::string::npos) why = why.substr(nl + 1);
      return record(url, bad_media(url + ": yt-dlp found no video on this page: " +
                                   (why.empty() ? "exit " + std::to_string(run->exit_code) : why)));
    }
    auto entries = parse_yt_dlp_json(run->out, url);
    if (!entries.ok()) return record(url, entries.status());
    for (const auto& e : *entries) {
      const std::string t = e.title.empty() ? title : e.title;
      if (e.is_page) {
        SF_RETURN_IF_ERROR(expand(e.url, url, t, depth + 1, false));
      } else {
        Status refused = media::check_location(e.url);
        if (!refused.ok() || !media::is_http_url(e.url)) {
          errors.push_back({e.url, refused.ok() ? invalid_argument(e.url + ": not an http(s) URL") : refused});
          continue;
        }
        add({e.url, source == url ? url : source, t, extension(e.url) == "m3u8" ? InputKind::kHls : InputKind::kUrl,
             false});
      }
    }
    return {};
  }

  const ResolveOptions& o_;
};

}  // namespace

std::string file_name_title(const std::string& location) {
  std::string_view p = path_part(location);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  std::size_t slash = p.rfind('/');
  std::string_view name = slash == std::string_view::npos ? p : p.substr(slash + 1);
  std::string out;
  const bool url = media::is_http_url(location);
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (url && name[i] == '%' && i + 2 < name.size() && std::isxdigit(static_cast<unsigned char>(name[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(name[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(name.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out.empty() ? location : out;
}

std::string resolve_reference(const std::string& base, const std::string& ref) {
  if (!media::url_scheme(ref).empty()) return ref;
  if (!media::is_http_url(base)) {
    fs::path r(ref);
    if (r.is_absolute()) return ref;
    return (fs::path(base).parent_path() / r).lexically_normal().string();
  }
  const std::string scheme = media::url_scheme(base);
  const std::size_t auth_start = scheme.size() + 3;
  std::size_t path_start = base.find_first_of("/?#", auth_start);
  if (path_start == std::string::npos) path_start = base.size();
  const std::string origin = base.substr(0, path_start);
  if (ref.rfind("//", 0) == 0) return scheme + ":" + ref;
  if (ref.empty()) return base.substr(0, base.find('#'));
  const std::string base_path = std::string(path_part(base));
  if (ref[0] == '/') return origin + remove_dot_segments(ref);
  if (ref[0] == '?') return origin + base_path + ref;
  if (ref[0] == '#') return base.substr(0, base.find('#')) + ref;
  std::string dir = base_path.substr(0, base_path.rfind('/') + 1);
  if (dir.empty()) dir = "/";
  std::size_t tail = ref.find_first_of("?#");
  std::string ref_path = ref.substr(0, tail);
  std::string ref_rest = tail == std::string::npos ? "" : ref.substr(tail);
  return origin + remove_dot_segments(dir + ref_path) + ref_rest;
}

bool is_hls_playlist(std::string_view text) { return text.find("#EXT-X-") != std::string_view::npos; }

std::vector<PlaylistEntry> parse_m3u(std::string_view text, const std::string& base) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<PlaylistEntry> out;
  std::string pending_title;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (line.substr(0, 8) == "#EXTINF:") {
        std::size_t comma = line.find(',');
        pending_title = comma == std::string_view::npos ? "" : std::string(line.substr(comma + 1));
        while (!pending_title.empty() && pending_title.front() == ' ') pending_title.erase(0, 1);
      }
      continue;
    }
    out.push_back({resolve_reference(base, std::string(line)), pending_title});
    pending_title.clear();
  }
  return out;
}

Result<std::vector<PageEntry>> parse_yt_dlp_json(std::string_view text, const std::string& page) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad_media(page + ": yt-dlp gave no readable answer");
  auto str = [](const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::vector<PageEntry> out;
  auto add_media = [&](const json& o) {
    std::string url = str(o, "url");
    if (url.empty()) {
      // A video whose best format has separate picture and sound files: take
      // the one that has sound, which the transcript needs.
      auto rf = o.find("requested_formats");
      if (rf != o.end() && rf->is_array()) {
        for (const auto& f : *rf) {
          if (str(f, "acodec") != "none" && !str(f, "url").empty()) {
            url = str(f, "url");
            break;
          }
        }
      }
    }
    if (url.empty()) return false;
    out.push_back({url, str(o, "title"), false});
    return true;
  };
  const std::string type = str(j, "_type");
  if (type == "playlist" || type == "multi_video") {
    auto entries = j.find("entries");
    if (entries == j.end() || !entries->is_array()) return bad_media(page + ": yt-dlp lists no entries");
    for (const auto& e : *entries) {
      if (!e.is_object()) continue;
      const std::string etype = str(e, "_type");
      if (etype == "url" || etype == "url_transparent") {
        std::string url = str(e, "url");
        if (url.empty()) continue;
        out.push_back({url, str(e, "title"), !is_media_extension(extension(url))});
      } else {
        add_media(e);
      }
    }
  } else if (type == "url" || type == "url_transparent") {
    std::string url = str(j, "url");
    if (!url.empty()) out.push_back({url, str(j, "title"), !is_media_extension(extension(url))});
  } else {
    add_media(j);
  }
  if (out.empty()) return bad_media(page + ": yt-dlp found no media URL on this page");
  return out;
}

DownloadLimits download_limits() {
  // Validated at startup (config::validate_env): 1..64.
  return {static_cast<int>(config::env_int("MAX_SEGMENT_DOWNLOADS")),
          static_cast<int>(config::env_int("MAX_CLIP_DOWNLOADS"))};
}

std::vector<std::string> locations(const std::vector<ResolvedInput>& inputs) {
  std::vector<std::string> out;
  out.reserve(inputs.size());
  for (const auto& i : inputs) out.push_back(i.location);
  return out;
}

Result<ResolvedInputs> resolve_inputs(const std::vector<std::string>& arguments, const ResolveOptions& options) {
  Expander ex(options);
  for (const auto& a : arguments) SF_RETURN_IF_ERROR(ex.expand(a, a, "", 0, true));

  // Open every medium once: is it readable, what is its title? URLs are
  // opened in parallel, so slow servers overlap.
  const std::vector<Candidate>& cands = ex.candidates;
  std::vector<std::optional<Result<media::MediaSummary>>> summaries(cands.size());
  int readers = options.readers > 0 ? options.readers : download_limits().segment_readers;
  readers = std::clamp(readers, 1, std::max(1, static_cast<int>(cands.size())));
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < cands.size(); i = next++) {
      Result<media::MediaSummary> got = internal_error("not opened");
      Status st = with_retries(options, cands[i].location, [&] {
        got = media::summarize(cands[i].location);
        return got.status();
      });
      summaries[i] = st.ok() ? std::move(got) : Result<media::MediaSummary>(st);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < readers; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (cancel_requested()) return cancelled("resolving inputs: stopped");

  ResolvedInputs out;
  std::vector<InputError> open_errors;
  for (std::size_t i = 0; i < cands.size(); ++i) {
    const Candidate& c = cands[i];
    const Result<media::MediaSummary>& s = *summaries[i];
    if (!s.ok()) {
      if (c.fatal) return s.status();
      open_errors.push_back({c.location, s.status()});
      continue;
    }
    ResolvedInput r;
    r.location = c.location;
    r.source = c.source;
    r.kind = c.kind;
    r.duration = s->duration;
    r.title = !c.title.empty() ? c.title : !s->title.empty() ? s->title : file_name_title(c.location);
    out.inputs.push_back(std::move(r));
  }
  out.errors = std::move(ex.errors);
  out.errors.insert(out.errors.end(), open_errors.begin(), open_errors.end());
  if (out.inputs.empty()) {
    if (out.errors.size() == 1) return out.errors.front().status;
    if (out.errors.empty()) return invalid_argument("no inputs given");
    std::string msg = "none of the inputs can be read:";
    for (const auto& e : out.errors) msg += "\n  " + e.status.message();
    return Status(out.errors.front().status.code(), msg);
  }
  return out;
}

}  // namespace sf::pipeline
