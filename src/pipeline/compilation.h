// The compilation job: inputs + target words -> one supercut (and its report).
//
// This is the one place where a supercut is made; the CLI's `supercut` and
// the HTTP service are thin doors into it. A job runs its stages in order,
//
//   probe -> transcribe (segment + recognize) -> match -> plan -> render
//
// reports typed progress events while it runs, can be cancelled, and builds
// its report in one place (CompilationReport::to_json). Stages overlap where
// they can: audio decoding, segmentation and recognition of all inputs run as
// one pipeline with bounded queues (pipeline/transcriber.h); each input is
// matched and its clips planned as soon as its transcript and those of the
// inputs before it are complete, and its clips go to the renderer
// (media::Renderer) at once, so rendering runs while later inputs are still
// transcribed (CompilationRequest::overlap_render).
//
// Order: clips are emitted in (video, segment, clip) order, whatever finishes
// first; every clip carries that hierarchical id.
//
// Thread-safety: one job object runs once, from one thread; cancel() may be
// called from any thread (and from a progress callback).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "export/timeline.h"
#include "media/render.h"
#include "pipeline/library_targeted.h"
#include "pipeline/library_transcribe.h"
#include "pipeline/transcriber.h"
#include "search/clip_planner.h"
#include "search/fusion.h"
#include "search/matcher.h"

namespace sf::pipeline {

// What to cut. Field names follow the service contract (target_words,
// padding_before, padding_after, merge_gap, max_length live in `clip`).
struct CompilationRequest {
  std::vector<std::string> inputs;        // media paths (or URLs), in output order
  std::vector<std::string> target_words;  // words or phrases; at least one
  search::MatchMode match = search::MatchMode::kExact;
  search::ClipOptions clip;               // padding, merge gap, max_length, max_clips
  // Targeted search (search/fusion.h): the engine listens for the target
  // words themselves, not only in its one-best transcript (exact mode and
  // the sphinx engine only; otherwise it does nothing). Transcripts given in
  // known_transcripts are not decoded: their hits count as they carry them
  // (supercut --from-library --targeted sets them with
  // pipeline/library_targeted.h; listened says what that pass decoded).
  // On by default: on speech made harder it finds far more of the words at
  // precision >= 0.9 (bench/RESULTS.md). Its cost: an input the library
  // knows, but not its hits for these very targets, is decoded again.
  bool targeted = true;
  // Whisper: the target words bias the decoder (EngineOptions::hotwords).
  // On by default (--no-hotwords turns it off); other engines ignore it.
  bool hotwords = true;
  // Matches (one-best or targeted) below this confidence are not cut
  // (--min-confidence); in [0, 1].
  double min_confidence = search::kDefaultMinConfidence;
  media::RenderOptions render;
  TranscribeOptions transcribe;
  LibraryOptions library;  // the transcript library in front of transcription
  // Transcripts already known for every input, in order (supercut
  // --from-library): nothing is transcribed. Size must equal inputs'.
  std::optional<std::vector<InputTranscript>> known_transcripts;
  std::optional<ListenStats> listened;  // the targeted pass over known_transcripts, for the report
  std::string output;    // the MP4 to write; may be empty only with dry_run
  bool dry_run = false;  // plan the clips, render nothing
  // Editor exports of the cut (export/timeline.h), written once the output
  // is in place (for a dry run: once the clips are planned), each under a
  // temporary name and renamed when complete. Their folders are checked
  // before any work; none may be the output.
  std::vector<exports::Target> exports;
  // true: each input's clips are rendered as soon as it and every input
  // before it are transcribed, while later inputs are still transcribed.
  // false: the render starts after all transcription (for comparisons).
  // The output is the same either way.
  bool overlap_render = true;
  // false (CLI default): the first unreadable input fails the job before
  // any work. true (service, URL inputs): an unreadable input is recorded in
  // the report's errors and the job goes on with the others, failing only
  // when none is left.
  bool continue_on_input_error = false;
};

enum class Stage { kProbe, kTranscribe, kMatch, kRender, kDone };
// "analyzing", "transcribing", "matching", "compiling", "done": the stage
// names of the service's status.
std::string_view stage_name(Stage stage);

// A snapshot of a running job, handed to the progress callback.
struct CompilationProgress {
  Stage stage = Stage::kProbe;
  int current_video = 0;  // 1-based index of the input being worked on (0: none yet)
  int total_videos = 0;
  std::string current_video_title;
  double audio_done = 0, audio_total = 0;  // seconds of audio transcribed / to transcribe
  double transcription_progress = 0;       // audio_done / audio_total in [0, 1]
  int segments_completed = 0;              // audio segments transcribed
  int total_segments = 0;                  // audio segments cut so far (grows while reading)
  int words_found = 0;                     // matches so far
  // Clips rendered / planned and output seconds rendered / planned. While
  // inputs are still transcribed (overlap), "planned" counts the clips of
  // the inputs done so far and grows; the stage stays kTranscribe.
  int clips_done = 0, clips_total = 0;
  double render_done = 0, render_total = 0;
  double eta = -1;                         // seconds left in this stage; < 0: unknown
};

// Called from the job's threads, one call at a time, in order of events.
using CompilationProgressFn = std::function<void(const CompilationProgress&)>;

struct InputResult {
  int index = 0;
  std::string path;
  std::string title;       // from the container's metadata, else the file name
  double duration = 0;     // seconds
  size_t words = 0;        // words recognized
  int matches = 0;
  std::string error;       // non-empty: this input was skipped
  // From the probe, for exports: the video stream (has_video false for
  // audio-only media), the sound, and the start timecode (empty: none;
  // timecode_frame is the frame it names at the video's rate, -1 if none).
  bool has_video = false;
  double fps = 0;
  int width = 0, height = 0;  // as shown
  int sample_rate = 0, channels = 0;
  std::string timecode;
  int64_t timecode_frame = -1;
};

struct ClipResult {
  // Hierarchical id: input index, the transcript segment of the clip's first
  // match, and the clip's number within its input (all 0-based).
  int video = 0, segment = 0, clip = 0;
  std::string path;
  double start = 0, end = 0;  // file time of the input, seconds
  std::vector<std::string> words;
  // Seconds in the output: where the render put the clip, or for a dry run
  // where it is planned (the sum of the lengths of the clips before it).
  double output_start = 0, output_end = 0;
  // The sentence the clip was cut for: the text of the transcript
  // segment(s) its matches are in, in order, joined by a space.
  std::string text;
  // The highest confidence of its matches, and the matches with their
  // evidence, in time order.
  float confidence = 0;
  std::vector<search::Match> matches;
};

struct CompilationReport {
  std::vector<std::string> target_words;
  search::MatchMode match = search::MatchMode::kExact;
  bool targeted = false;  // the engine listened for the targets (targeted search)
  double min_confidence = 0;
  std::string engine;
  std::vector<InputResult> inputs;
  int matches = 0;
  std::vector<ClipResult> clips;
  bool dry_run = false;
  bool early_termination = false;  // max_length or max_clips cut the plan short
  std::optional<media::RenderResult> rendered;  // absent for a dry run
  std::string output;
  // Seconds per stage, in order: resolve, probe, transcribe (wall time of
  // the transcription pipeline), match (time spent matching and planning,
  // inside transcription), render (from the renderer's start, which with
  // overlap is during transcription, to the file in place) and render_tail
  // (the part of the render after the last transcript: what the job waits
  // for rendering).
  std::vector<std::pair<std::string, double>> stages;
  std::vector<std::string> errors;                     // per-input errors that were skipped
  int inputs_from_library = 0;  // inputs whose transcript came from the library (not transcribed)
  int targeted_from_library = 0;  // of those, inputs whose targeted hits came from it too (not decoded)
  // --from-library --targeted: what the targeted pass listened to again
  // (pipeline/library_targeted.h); absent otherwise.
  std::optional<ListenStats> listened;
  std::vector<exports::Target> exports;  // the export files written, in the request's order

  // The JSON report (the CLI's --report and the service's result).
  nlohmann::json to_json() const;
};

// A match's evidence as the report writes it: {"one_best", "word_probability"
// (one-best only), "spotted", "spot_score" and "phone_seconds" (spotted
// only, the detection's seconds per phone), "posterior",
// "biased_posterior", "phones" and "expected_seconds" (when known),
// "snr_db" and "noise_spread_db" (when the engine measured noise where it
// heard the match)}.
nlohmann::json evidence_to_json(const search::Evidence& evidence);

// A clip's matches as the report (and the service's clips_extracted)
// write them: [{"query", "start", "end", "confidence", "evidence"}], in
// the given order.
nlohmann::json matches_to_json(std::span<const search::Match> matches);

// The cut as an editor timeline (export/timeline.h): one source per input
// (by index), the clips with their source and output ranges and sentences;
// the record rate and size are the render's, for a dry run those `render`
// asks for, else the first video input's. Named after the output file (or
// the first export's) without its extension.
exports::Timeline export_timeline(const CompilationReport& report, const media::RenderOptions& render);

class CompilationJob {
 public:
  // Validates the request without touching any input: no words, bad clip
  // options, a min_confidence outside [0, 1], an invalid pattern, a missing
  // output, a bad render profile, an
  // export that is the output or named twice are kInvalidArgument naming
  // the field.
  static Result<std::unique_ptr<CompilationJob>> create(CompilationRequest request);
  CompilationJob(const CompilationJob&) = delete;
  CompilationJob& operator=(const CompilationJob&) = delete;

  // Runs the job. Errors: the first bad input (kNotFound / kBadMedia / ...,
  // naming it) unless continue_on_input_error; kNoMatch when nothing matched
  // (the report is still built: see last_report()); kCancelled after cancel()
  // or a process stop request; render and output errors (an export that
  // cannot be written: kOutput naming it; the video, already in place,
  // stays). No partial output is left on any error. No exception escapes.
  Result<CompilationReport> run(const CompilationProgressFn& progress = {});

  // The report as far as the job got (inputs, matches, errors); useful after
  // a kNoMatch error.
  const CompilationReport& last_report() const { return report_; }

  // Asks the running job to stop at the next check; run() then returns
  // kCancelled. Thread-safe.
  void cancel() {
    cancelled_.store(true);
    stop_work_.store(true);
  }
  bool cancel_requested() const;

  // Asks the running job to stop transcribing and compile what the inputs
  // transcribed so far hold (the service's early_termination): run() then
  // renders their clips, the report says early_termination and names the
  // inputs left out in its errors; kNoMatch if they hold no match. After
  // transcription it changes nothing. Thread-safe.
  void finish_early() {
    finish_early_.store(true);
    stop_work_.store(true);
  }

  const CompilationRequest& request() const { return request_; }

 private:
  CompilationJob(CompilationRequest request, search::Matcher matcher)
      : request_(std::move(request)), matcher_(std::move(matcher)) {}
  Result<CompilationReport> run_stages(const CompilationProgressFn& progress);
  // Writes the request's exports of report_ (its clips complete) and
  // records them and the stage's time in it.
  Status write_exports();

  CompilationRequest request_;
  search::Matcher matcher_;
  CompilationReport report_;
  std::atomic<bool> cancelled_{false};
  // Stops transcription: a cancel, or a render that failed while it ran.
  std::atomic<bool> stop_work_{false};
  std::atomic<bool> finish_early_{false};
};

}  // namespace sf::pipeline
