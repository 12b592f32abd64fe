// Resolving the job's input arguments into media to read.
//
// One `-i` argument may stand for several media, in order:
//   - a local media file, or an http(s) URL of a media file  -> itself
//   - an HLS playlist (.m3u8 with #EXT-X- tags)              -> itself (libav's hls demuxer reads it)
//   - an M3U playlist (.m3u, or .m3u8 without HLS tags),
//     local or remote                                        -> its entries, relative ones resolved
//                                                               against the playlist's location,
//                                                               #EXTINF titles kept
//   - any other URL the server answers with text/html (a page
//     or a collection)                                       -> what yt-dlp finds there
// Every medium found is then opened once (in parallel, MAX_SEGMENT_DOWNLOADS
// at a time) to check that it can be read and to learn its title and
// duration. Network failures are retried with backoff.
//
// Errors: a bad local file given directly as an argument (missing, not
// media, unreadable) or a refused URL scheme stops the job: the user named
// it. A URL (or a playlist entry, or a page's video) that still cannot be read
// after the retries is recorded in `errors` and the others go on, as long as
// one medium is left.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sf::pipeline {

enum class InputKind { kFile, kUrl, kHls };

struct ResolvedInput {
  std::string location;  // what media::open_input reads: a local path or an http(s) URL
  std::string source;    // the argument it came from (the playlist or page for their entries)
  std::string title;     // yt-dlp's or #EXTINF title, else the container's title tag, else the file name
  InputKind kind = InputKind::kFile;
  double duration = 0;   // seconds, from the container; 0 when unknown
};

struct InputError {
  std::string input;  // the location or argument that failed
  Status status;      // names the input
};

struct ResolvedInputs {
  std::vector<ResolvedInput> inputs;  // in argument order, playlist entries in playlist order
  std::vector<InputError> errors;     // inputs left out: unreadable listings first, then media
};

struct ResolveOptions {
  int attempts = 3;             // tries per network read (>= 1)
  double backoff = 0.5;         // seconds before the second try, doubling after
  int readers = 0;              // media opened at once; 0 = MAX_SEGMENT_DOWNLOADS
  std::string yt_dlp = "yt-dlp";  // program resolving pages (looked up on PATH)
  int max_depth = 4;            // playlists within playlists
};

// Resolves `arguments` as described above. Returns an error when an argument
// is refused outright (see above) or when nothing readable is left (the only
// error itself when there was one input, else a summary naming each). Blocks;
// thread-safe; returns kCancelled once sf::cancel_requested().
Result<ResolvedInputs> resolve_inputs(const std::vector<std::string>& arguments, const ResolveOptions& options = {});

// The locations of `inputs`, in order.
std::vector<std::string> locations(const std::vector<ResolvedInput>& inputs);

// --- Building blocks, exposed for tests -------------------------------

struct PlaylistEntry {
  std::string location;  // resolved against the playlist's base
  std::string title;     // from the #EXTINF line before it, "" when none
};

// Entries of an M3U playlist `text` read from `base` (a local path or URL):
// each non-empty line not starting with '#'; a UTF-8 BOM and CR line ends
// are accepted.
std::vector<PlaylistEntry> parse_m3u(std::string_view text, const std::string& base);

// True when `text` is an HLS playlist (has #EXT-X- tags) rather than a plain
// list of media.
bool is_hls_playlist(std::string_view text);

// `ref` resolved against `base` (RFC 3986 for URL bases; relative to the
// base's folder for local paths). Absolute references and URLs are kept.
std::string resolve_reference(const std::string& base, const std::string& ref);

// What yt-dlp's `-J` JSON describes: media URLs with titles, and references
// to pages still to resolve (flat playlist entries).
struct PageEntry {
  std::string url;
  std::string title;
  bool is_page = false;  // a reference to resolve again, not a media URL
};
Result<std::vector<PageEntry>> parse_yt_dlp_json(std::string_view json, const std::string& page);

// The seed's parallelism limits, validated: MAX_SEGMENT_DOWNLOADS (media read
// at once while resolving and probing URL inputs) and MAX_CLIP_DOWNLOADS
// (concurrent range readers for clips), as validated by config (1..64; the
// CLI refuses a bad value at startup, a library caller gets the default).
struct DownloadLimits {
  int segment_readers = 6;
  int clip_readers = 8;
};
DownloadLimits download_limits();

// The title shown for `location` when nothing better is known: its file
// name (URL path's last part, percent-decoded, query dropped).
std::string file_name_title(const std::string& location);

}  // namespace sf::pipeline
