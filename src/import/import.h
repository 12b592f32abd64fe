// Studio import: footage in, and for every source three products, each
// optional — loudness-normalized media, an edit proxy, and a transcript
// (into the transcript library, plus SRT and JSON sidecars next to the
// proxy) — made in parallel and recorded in the project's manifest.
//
//   <project>/normalized/<name>.<ext>    same container, picture copied,
//                                         audio corrected (media/loudness.h)
//   <project>/proxies/<name>.proxy.mp4    H.264 + AAC, smaller, short GOP,
//                                         same duration and timecode
//                                         (.proxy.mov for ProRes / DNxHR)
//   <project>/proxies/<name>.srt, .json   the transcript
//   <project>/studioflow-import.json      the manifest (import/manifest.h)
//   <project>/import-report.json          the last run's report
//
// <name> is the source's path below the folder given (prefixed with that
// folder's name), or the file's name for a file given; names that would
// collide get "-2", "-3".
//
// Sources are files and folders (searched recursively; hidden files and
// anything inside the project folder are skipped); a file is media when
// libav can probe it, whatever its extension. Sources are only read.
//
// Stages run at once, each with its own number of files in flight:
// normalization (normalize_jobs, 4 as in the seed), proxies (proxy_jobs, 4),
// transcription (the worker pool: 2 CPU workers or one per GPU, through
// pipeline::transcribe_with_library). Every product is written under a
// temporary name and renamed when complete, then recorded in the manifest;
// a product already recorded for the source's current fingerprint with the
// same options (and whose file is still there, same size) is not redone.
// So a second run does nothing, a run killed or stopped with Ctrl-C redoes
// only what was not finished, and a changed source is redone.
//
// One import at a time per project folder (a lock file); a second gets
// kUnavailable.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "media/loudness.h"
#include "pipeline/library_transcribe.h"
#include "pipeline/transcriber.h"

namespace sf::import {

struct ImportRequest {
  std::vector<std::string> sources;  // files and folders
  std::string project;               // the project folder (created if missing)
  bool normalize = true, proxy = true, transcript = true;
  media::NormalizeOptions loudness;  // target (--loudness), ceiling (--true-peak)
  // "half" (default), "quarter", "WIDTHxHEIGHT" or "HEIGHTp" (width from
  // the displayed aspect); always even, never larger than the source.
  std::string proxy_size = "half";
  // "h264" (MP4 on the encoder ladder), "prores" (ProRes 422 Proxy) or
  // "dnxhr" (DNxHR LB), both in MOV: <name>.proxy.mov.
  std::string proxy_codec = "h264";
  std::string encoder;  // force a video encoder for proxies; empty: the ladder
  bool cpu_only = false;
  int normalize_jobs = 4, proxy_jobs = 4;
  pipeline::TranscribeOptions transcribe;
  pipeline::LibraryOptions library;
  // Files a caller does not want touched yet (watch mode: still growing).
  std::function<bool(const std::string& path)> skip;
  const std::atomic<bool>* cancel = nullptr;
};

enum class ProductState { kPending, kDone, kReused, kSkipped, kFailed };
std::string_view product_state_name(ProductState s);  // "pending", "done", "reused", "skipped", "failed"

struct ProductResult {
  ProductState state = ProductState::kPending;
  std::vector<std::string> files;  // project-relative paths written (or found)
  std::string note;                // why skipped / failed
  nlohmann::json details;          // loudness, proxy size, words: as in the manifest
  double seconds = 0;              // time spent this run
};

struct FileResult {
  std::string source;  // absolute path
  std::string name;    // see above
  std::string fingerprint;
  double duration = 0;
  bool has_video = false, has_audio = false;
  ProductResult normalized, proxy, transcript;
  std::string error;  // unreadable source: nothing was made
};

struct ImportReport {
  std::string project;
  std::vector<FileResult> files;
  int not_media = 0;  // files probed and found not to be media
  double seconds = 0;
  bool cancelled = false;
  int failed() const;  // products (and sources) that failed
  nlohmann::json to_json() const;
};

// A snapshot for the progress display, per stage: files done (made or
// reused), running and in all.
struct StageProgress {
  int done = 0, running = 0, total = 0;
};
struct ImportProgress {
  StageProgress normalize, proxy, transcript;
  double audio_done = 0, audio_total = 0;  // seconds transcribed / to transcribe
};
// Called from the stages' threads, one call at a time.
using ImportProgressFn = std::function<void(const ImportProgress&)>;

// Runs one import. Per-file problems (an unreadable source, a failed
// product) are recorded in the report and the others go on; the call fails
// only for the request itself: no sources (kInvalidArgument), a source that
// does not exist (kNotFound, naming it), a project folder that cannot be
// made or written (kOutput), a damaged manifest (kCorrupt), another import
// running in the project (kUnavailable), a transcript library that cannot
// be opened. A stop request ends the run early: finished products are
// kept, the report says cancelled, and the result is still the report.
// Writes <project>/import-report.json.
Result<ImportReport> run_import(const ImportRequest& request, const ImportProgressFn& progress = {});

// Parses --proxy-size for a picture shown at width x height: the proxy's
// size (even numbers, at least 16x16). kInvalidArgument naming the value.
Result<std::pair<int, int>> proxy_dimensions(const std::string& spec, int width, int height);

struct WatchOptions {
  double settle = 2.0;  // seconds a new file must keep its size before it is imported
  double poll = 0.5;    // seconds between checks
};

// Imports `request` once, then keeps watching its source folders (inotify,
// new sub-folders included) and imports each file that appears or changes
// once it has stopped growing; `on_run` gets every run's report. Returns
// when a stop is requested (Ctrl-C) or request.cancel is set, with the
// first run's request errors as run_import's.
Status watch_and_import(ImportRequest request, const WatchOptions& options,
                        const std::function<void(const ImportReport&)>& on_run,
                        const ImportProgressFn& progress = {});

}  // namespace sf::import
