#include "pipeline/compilation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <new>

#include <nlohmann/json.hpp>

#include "core/cancel.h"
#include "core/config.h"
#include "core/files.h"
#include "core/log.h"
#include "media/probe.h"
#include "pipeline/resolve.h"

namespace sf::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Records a finished stage; ENABLE_PIPELINE_LOGGING also logs it.
void stage_done(CompilationReport& report, const char* stage, double seconds) {
  report.stages.emplace_back(stage, seconds);
  if (config::env_bool("ENABLE_PIPELINE_LOGGING")) {
    SF_LOG_INFO("pipeline: stage {} done in {:.3f} s (stage {} of the job)", stage, seconds,
                report.stages.size());
  }
}

std::string join_words(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : " ") + x;
  return s;
}

// Remaining seconds of a stage from its pace so far; -1 until it has one.
double eta(double done, double total, double elapsed) {
  if (done <= 0 || total <= 0 || elapsed < 0.5) return -1;
  return std::max(0.0, elapsed * (total - done) / done);
}

// Serializes progress callbacks from the stages' threads and keeps the
// snapshot they update.
class ProgressHub {
 public:
  explicit ProgressHub(const CompilationProgressFn& fn) : fn_(fn) {}

  template <typename Update>
  void update(Update&& u) {
    std::lock_guard lock(mu_);
    u(snap_);
    if (fn_) fn_(snap_);
  }

 private:
  std::mutex mu_;
  CompilationProgress snap_;  // GUARDED_BY(mu_)
  const CompilationProgressFn& fn_;
};

// Index of the transcript segment holding time `t` (the last one starting at
// or before it).
int segment_at(const asr::Transcript& t, double at) {
  int idx = 0;
  for (size_t i = 0; i < t.segments.size(); ++i) {
    if (t.segments[i].start <= at + search::kTimeEpsilon) idx = static_cast<int>(i);
  }
  return idx;
}

}  // namespace

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kProbe: return "analyzing";
    case Stage::kTranscribe: return "transcribing";
    case Stage::kMatch: return "matching";
    case Stage::kRender: return "compiling";
    case Stage::kDone: return "done";
  }
  return "unknown";
}

nlohmann::json CompilationReport::to_json() const {
  using nlohmann::json;
  json j = {{"words", target_words},
            {"match", std::string(search::match_mode_name(match))},
            {"engine", engine},
            {"matches", matches},
            {"inputs", json::array()},
            {"clips", json::array()},
            {"early_termination", early_termination},
            {"errors", errors}};
  for (const auto& in : inputs) {
    json ji = {{"index", in.index}, {"path", in.path}, {"title", in.title}, {"duration", in.duration},
               {"words", in.words}, {"matches", in.matches}};
    if (!in.error.empty()) ji["error"] = in.error;
    j["inputs"].push_back(std::move(ji));
  }
  for (const auto& c : clips) {
    json jc = {{"id", {{"video", c.video}, {"segment", c.segment}, {"clip", c.clip}}},
               {"input", c.video},
               {"path", c.path},
               {"start", c.start},
               {"end", c.end},
               {"words", join_words(c.words)}};
    if (rendered) {
      jc["output_start"] = c.output_start;
      jc["output_end"] = c.output_end;
    }
    j["clips"].push_back(std::move(jc));
  }
  json st = json::object();
  for (const auto& [name, secs] : stages) st[name] = secs;
  j["stages"] = st;
  if (dry_run) j["dry_run"] = true;
  if (rendered) {
    j["output"] = {{"path", output}, {"duration", rendered->duration}, {"width", rendered->width},
                   {"height", rendered->height}, {"fps", rendered->fps}, {"frames", rendered->frames}};
    j["encoder"] = rendered->encoder;
    j["preset"] = rendered->preset;
  }
  return j;
}

Result<std::unique_ptr<CompilationJob>> CompilationJob::create(CompilationRequest request) {
  if (request.target_words.empty()) return invalid_argument("no words given: pass at least one word or phrase");
  if (request.inputs.empty()) return invalid_argument("no inputs given");
  if (request.known_transcripts && request.known_transcripts->size() != request.inputs.size()) {
    return invalid_argument("known transcripts must match the inputs one to one");
  }
  if (request.output.empty() && !request.dry_run) return invalid_argument("no output given");
  SF_RETURN_IF_ERROR(search::validate(request.clip));
  const auto& r = request.render;
  if ((r.width != 0 || r.height != 0) && (r.width < 16 || r.height < 16 || r.width > 8192 || r.height > 8192)) {
    return invalid_argument("output size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                            " is out of range (16..8192)");
  }
  if (r.fps != 0 && !(r.fps >= 1 && r.fps <= 240)) return invalid_argument("output frame rate must be in 1..240");
  SF_ASSIGN_OR_RETURN(auto matcher, search::Matcher::create(request.target_words, request.match));
  return std::unique_ptr<CompilationJob>(new CompilationJob(std::move(request), std::move(matcher)));
}

bool CompilationJob::cancel_requested() const { return stop_requested(&cancelled_); }

Result<CompilationReport> CompilationJob::run(const CompilationProgressFn& progress) {
  // The job boundary: nothing thrown below may escape to the caller.
  try {
    return run_stages(progress);
  } catch (const std::bad_alloc&) {
    return internal_error("out of memory while making the supercut");
  } catch (const std::exception& e) {
    return internal_error(std::string("unexpected failure while making the supercut: ") + e.what());
  }
}

Result<CompilationReport> CompilationJob::run_stages(const CompilationProgressFn& progress) {
  const CompilationRequest& q = request_;
  report_ = CompilationReport{};
  report_.target_words = q.target_words;
  report_.match = q.match;
  report_.engine = q.transcribe.engine.engine;
  report_.dry_run = q.dry_run;
  report_.output = q.output;
  ProgressHub hub(progress);
  auto stopped = [&] { return cancel_requested(); };

  // Resolve: playlists and pages become their media; URLs that cannot be
  // read are left out (recorded in errors) while others remain.
  std::vector<std::string> inputs = q.inputs;
  std::vector<std::string> titles(inputs.size());
  if (!q.known_transcripts) {
    auto t_resolve = Clock::now();
    // Resolved together (readers in parallel), unless a bad argument must
    // not stop the others: then one by one.
    std::vector<std::vector<std::string>> groups;
    if (q.continue_on_input_error) {
      for (const auto& in : q.inputs) groups.push_back({in});
    } else {
      groups.push_back(q.inputs);
    }
    inputs.clear();
    titles.clear();
    for (const auto& g : groups) {
      auto resolved = resolve_inputs(g);
      if (!resolved.ok()) {
        if (!q.continue_on_input_error || resolved.status().code() == Code::kCancelled) return resolved.status();
        SF_LOG_WARN("input left out: {}", resolved.status().message());
        report_.errors.push_back(resolved.status().message());
        continue;
      }
      for (const auto& e : resolved->errors) {
        SF_LOG_WARN("input left out: {}", e.status.message());
        report_.errors.push_back(e.status.message());
      }
      for (const auto& r : resolved->inputs) {
        inputs.push_back(r.location);
        titles.push_back(r.title);
      }
    }
    if (inputs.empty()) {
      return bad_media("none of the " + std::to_string(q.inputs.size()) + " input(s) can be read");
    }
    stage_done(report_, "resolve", seconds_since(t_resolve));
  }
  if (stopped()) return cancelled("stopped on request; no output written");
  const int total_videos = static_cast<int>(inputs.size());

  if (!q.output.empty() && !q.dry_run) SF_RETURN_IF_ERROR(check_output_path(q.output));

  // Probe: every input must be readable media with sound.
  auto t0 = Clock::now();
  std::vector<media::MediaInfo> infos;
  std::vector<int> live;  // indexes of the inputs that go on
  for (int i = 0; i < total_videos; ++i) {
    const std::string& in = inputs[static_cast<size_t>(i)];
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kProbe;
      p.current_video = i + 1;
      p.total_videos = total_videos;
      p.current_video_title.clear();
    });
    if (stopped()) return cancelled("stopped on request; no output written");
    InputResult ir;
    ir.index = i;
    ir.path = in;
    ir.title = std::filesystem::path(in).filename().string();
    auto info = media::probe(in);
    Status st = info.ok() ? Status() : info.status();
    if (st.ok() && info->audio() == nullptr) {
      st = bad_media(in + ": has no audio stream, so there is nothing to search");
    }
    if (!st.ok()) {
      if (!q.continue_on_input_error) return st;
      SF_LOG_WARN("skipping input: {}", st.message());
      ir.error = st.message();
      report_.errors.push_back(st.message());
      report_.inputs.push_back(std::move(ir));
      infos.emplace_back();
      continue;
    }
    if (!titles[static_cast<size_t>(i)].empty()) {
      ir.title = titles[static_cast<size_t>(i)];
    } else if (!info->title.empty()) {
      ir.title = info->title;
    }
    ir.duration = info->duration;
    report_.inputs.push_back(std::move(ir));
    infos.push_back(std::move(info).value());
    live.push_back(i);
  }
  if (live.empty()) return bad_media("none of the " + std::to_string(total_videos) + " input(s) can be read");
  stage_done(report_, "probe", seconds_since(t0));

  // Transcribe all live inputs as one pipeline.
  t0 = Clock::now();
  std::vector<std::string> paths;
  std::vector<double> starts;  // cumulative seconds before each live input
  double audio_total = 0;
  for (int i : live) {
    paths.push_back(inputs[static_cast<size_t>(i)]);
    starts.push_back(audio_total);
    audio_total += infos[static_cast<size_t>(i)].duration;
  }
  TranscribeOptions topt = q.transcribe;
  topt.cancel = &cancelled_;
  topt.segment_progress = [&](int completed, int cut) {
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kTranscribe;
      p.segments_completed = std::max(p.segments_completed, completed);
      p.total_segments = std::max(p.total_segments, cut);
    });
  };
  auto on_audio = [&](double done, double total) {
    const double tot = total > 0 ? total : audio_total;
    size_t k = 0;
    while (k + 1 < starts.size() && done >= starts[k + 1]) ++k;
    const int video = live[k];
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kTranscribe;
      p.current_video = video + 1;
      p.current_video_title = report_.inputs[static_cast<size_t>(video)].title;
      p.audio_done = done;
      p.audio_total = tot;
      p.transcription_progress = tot > 0 ? std::min(1.0, done / tot) : 0;
      p.eta = eta(done, tot, seconds_since(t0));
    });
  };
  Result<std::vector<InputTranscript>> transcripts = internal_error("not run");
  if (q.known_transcripts) {
    std::vector<InputTranscript> known;
    for (int i : live) known.push_back((*q.known_transcripts)[static_cast<size_t>(i)]);
    transcripts = std::move(known);
  } else {
    transcripts = transcribe_with_library(paths, topt, q.library, on_audio);
  }
  if (!transcripts.ok()) return transcripts.status();
  stage_done(report_, "transcribe", seconds_since(t0));
  if (stopped()) return cancelled("stopped on request; no output written");

  // Match each input, then plan the clips over all of them in order.
  t0 = Clock::now();
  std::vector<search::Match> matches;
  std::vector<double> durations(static_cast<size_t>(total_videos), 0.0);
  for (size_t k = 0; k < live.size(); ++k) {
    const int i = live[k];
    const auto& it = (*transcripts)[k];
    const auto words = it.transcript.words();
    auto m = matcher_.find(i, words);
    auto& ir = report_.inputs[static_cast<size_t>(i)];
    ir.words = words.size();
    ir.matches = static_cast<int>(m.size());
    ir.duration = std::max(ir.duration, it.duration);
    durations[static_cast<size_t>(i)] = ir.duration;
    matches.insert(matches.end(), m.begin(), m.end());
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kMatch;
      p.current_video = i + 1;
      p.current_video_title = ir.title;
      p.words_found += static_cast<int>(m.size());
    });
  }
  report_.matches = static_cast<int>(matches.size());
  search::ClipOptions uncapped = q.clip;
  uncapped.max_length.reset();
  uncapped.max_clips.reset();
  const std::vector<search::Clip> all = search::plan_clips(matches, durations, uncapped);
  const std::vector<search::Clip> clips = search::plan_clips(matches, durations, q.clip);
  report_.early_termination =
      clips.size() < all.size() || (!clips.empty() && clips.back().end < all[clips.size() - 1].end - 1e-9);
  std::vector<int> per_video(static_cast<size_t>(total_videos), 0);
  for (const auto& c : clips) {
    ClipResult cr;
    cr.video = c.input;
    cr.clip = per_video[static_cast<size_t>(c.input)]++;
    cr.path = inputs[static_cast<size_t>(c.input)];
    cr.start = c.start;
    cr.end = c.end;
    cr.words = c.words;
    // The clip's first match is the earliest one of its input inside it.
    double first = c.end;
    for (const auto& m : matches) {
      if (m.input == c.input && m.start >= c.start - search::kTimeEpsilon && m.start < first) first = m.start;
    }
    const auto k = static_cast<size_t>(std::find(live.begin(), live.end(), c.input) - live.begin());
    cr.segment = segment_at((*transcripts)[k].transcript, first);
    report_.clips.push_back(std::move(cr));
  }
  stage_done(report_, "match", seconds_since(t0));
  if (clips.empty()) {
    return Status(Code::kNoMatch, "no match for \"" + join_words(q.target_words) + "\" in " +
                                      std::to_string(live.size()) + " input(s)");
  }
  if (q.dry_run) return report_;
  if (stopped()) return cancelled("stopped on request; no output written");

  // Render, in the plan's order.
  t0 = Clock::now();
  std::vector<media::RenderClip> rclips;
  for (const auto& c : report_.clips) rclips.push_back({c.path, c.start, c.end});
  media::RenderOptions ropt = q.render;
  ropt.cancel = &cancelled_;
  const int nclips = static_cast<int>(rclips.size());
  std::vector<double> clip_ends;  // cumulative planned output seconds
  double acc = 0;
  for (const auto& c : rclips) clip_ends.push_back(acc += c.end - c.start);
  auto rendered = media::render(rclips, q.output, ropt, [&](double done, double total) {
    int k = 0;
    while (k < nclips && done + 1e-6 >= clip_ends[static_cast<size_t>(k)]) ++k;
    const int video = report_.clips[static_cast<size_t>(std::min(k, nclips - 1))].video;
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kRender;
      p.current_video = video + 1;
      p.current_video_title = report_.inputs[static_cast<size_t>(video)].title;
      p.clips_done = k;
      p.clips_total = nclips;
      p.render_done = done;
      p.render_total = total;
      p.eta = eta(done, total, seconds_since(t0));
    });
  });
  if (!rendered.ok()) return rendered.status();
  stage_done(report_, "render", seconds_since(t0));
  for (size_t i = 0; i < report_.clips.size() && i < rendered->clips.size(); ++i) {
    report_.clips[i].output_start = rendered->clips[i].output_start;
    report_.clips[i].output_end = rendered->clips[i].output_end;
  }
  report_.rendered = std::move(rendered).value();
  hub.update([&](CompilationProgress& p) {
    p.stage = Stage::kDone;
    p.clips_done = nclips;
    p.eta = 0;
  });
  return report_;
}

}  // namespace sf::pipeline
