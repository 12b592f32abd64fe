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

// Index of the transcript segment holding time `at` (the last one starting
// at or before it), from the segments' start times.
int segment_at(const std::vector<double>& segment_starts, double at) {
  int idx = 0;
  for (size_t i = 0; i < segment_starts.size(); ++i) {
    if (segment_starts[i] <= at + search::kTimeEpsilon) idx = static_cast<int>(i);
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

nlohmann::json evidence_to_json(const search::Evidence& e) {
  nlohmann::json ev = {{"one_best", e.one_best}};
  if (e.one_best) ev["word_probability"] = e.word_probability;
  if (e.spotted) ev["spot_score"] = e.spot_score;
  if (e.phone_seconds > 0) ev["phone_seconds"] = e.phone_seconds;
  ev["spotted"] = e.spotted;
  ev["posterior"] = e.posterior;
  ev["biased_posterior"] = e.biased_posterior;
  if (e.phones > 0) ev["phones"] = e.phones;
  if (e.expected_seconds > 0) ev["expected_seconds"] = e.expected_seconds;
  if (e.snr_db < asr::TargetHit::kCleanSnrDb) {
    ev["snr_db"] = e.snr_db;
    ev["noise_spread_db"] = e.noise_spread_db;
  }
  return ev;
}

nlohmann::json matches_to_json(std::span<const search::Match> matches) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : matches) {
    out.push_back({{"query", m.query}, {"start", m.start}, {"end", m.end}, {"confidence", m.confidence},
                   {"evidence", evidence_to_json(m.evidence)}});
  }
  return out;
}

nlohmann::json CompilationReport::to_json() const {
  using nlohmann::json;
  json j = {{"words", target_words},
            {"match", std::string(search::match_mode_name(match))},
            {"targeted", targeted},
            {"min_confidence", min_confidence},
            {"engine", engine},
            {"matches", matches},
            {"inputs", json::array()},
            {"clips", json::array()},
            {"early_termination", early_termination},
            {"transcripts_from_library", inputs_from_library},
            {"targeted_from_library", targeted_from_library},
            {"errors", errors}};
  if (listened) {
    j["targeted_listened"] = {{"media", listened->media},
                              {"from_library", listened->from_library},
                              {"decoded_media", listened->decoded_media},
                              {"audio_seconds", listened->audio_seconds},
                              {"decoded_seconds", listened->decoded_seconds}};
  }
  for (const auto& in : inputs) {
    json ji = {{"index", in.index}, {"path", in.path}, {"title", in.title}, {"duration", in.duration},
               {"words", in.words}, {"matches", in.matches}};
    if (!in.error.empty()) ji["error"] = in.error;
    if (in.has_video) ji["fps"] = in.fps;
    if (!in.timecode.empty()) {
      ji["timecode"] = in.timecode;
      ji["timecode_frame"] = in.timecode_frame;
    }
    j["inputs"].push_back(std::move(ji));
  }
  for (const auto& c : clips) {
    json jc = {{"id", {{"video", c.video}, {"segment", c.segment}, {"clip", c.clip}}},
               {"input", c.video},
               {"path", c.path},
               {"start", c.start},
               {"end", c.end},
               {"words", join_words(c.words)},
               {"text", c.text},
               {"confidence", c.confidence}};
    jc["matches"] = matches_to_json(c.matches);
    if (rendered || dry_run) {
      jc["output_start"] = c.output_start;
      jc["output_end"] = c.output_end;
    }
    j["clips"].push_back(std::move(jc));
  }
  json st = json::object();
  for (const auto& [name, secs] : stages) st[name] = secs;
  j["stages"] = st;
  if (dry_run) j["dry_run"] = true;
  if (!exports.empty()) {
    j["exports"] = json::array();
    for (const auto& e : exports) {
      j["exports"].push_back({{"format", std::string(exports::format_name(e.format))}, {"path", e.path}});
    }
  }
  if (rendered) {
    j["output"] = {{"path", output}, {"duration", rendered->duration}, {"width", rendered->width},
                   {"height", rendered->height}, {"fps", rendered->fps}, {"frames", rendered->frames}};
    j["encoder"] = rendered->encoder;
    j["preset"] = rendered->preset;
  }
  return j;
}

exports::Timeline export_timeline(const CompilationReport& report, const media::RenderOptions& render) {
  exports::Timeline t;
  if (!report.output.empty()) t.name = std::filesystem::path(report.output).stem().string();
  for (const auto& in : report.inputs) {
    exports::Source s;
    s.path = in.path;
    s.name = std::filesystem::path(in.path).filename().string();
    s.duration = in.duration;
    s.has_video = in.has_video;
    s.fps = in.fps;
    s.width = in.width;
    s.height = in.height;
    s.sample_rate = in.sample_rate;
    s.channels = in.channels;
    s.timecode = in.timecode;
    t.sources.push_back(std::move(s));
  }
  // The record profile: the render's, else as the render would choose it
  // (the requested one, else the first clip's input with video).
  double fps = report.rendered ? report.rendered->fps : render.fps;
  t.width = report.rendered ? report.rendered->width : render.width;
  t.height = report.rendered ? report.rendered->height : render.height;
  for (const auto& c : report.clips) {
    const InputResult& in = report.inputs[static_cast<size_t>(c.video)];
    if (!in.has_video) continue;
    if (fps <= 0) fps = in.fps;
    if (t.width <= 0 || t.height <= 0) {
      t.width = in.width;
      t.height = in.height;
    }
    break;
  }
  if (fps > 0) t.rate = exports::frame_rate(fps);
  for (const auto& c : report.clips) {
    t.clips.push_back({c.video, c.start, c.end, c.output_start, c.output_end, c.text, c.words});
  }
  return t;
}

Result<std::unique_ptr<CompilationJob>> CompilationJob::create(CompilationRequest request) {
  if (request.target_words.empty()) return invalid_argument("no words given: pass at least one word or phrase");
  if (request.inputs.empty()) return invalid_argument("no inputs given");
  if (request.known_transcripts && request.known_transcripts->size() != request.inputs.size()) {
    return invalid_argument("known transcripts must match the inputs one to one");
  }
  if (request.output.empty() && !request.dry_run) return invalid_argument("no output given");
  SF_RETURN_IF_ERROR(search::validate(request.clip));
  if (!(request.min_confidence >= 0 && request.min_confidence <= 1)) {
    return invalid_argument("--min-confidence must be a number in [0, 1], got " +
                            std::to_string(request.min_confidence));
  }
  const auto& r = request.render;
  if ((r.width != 0 || r.height != 0) && (r.width < 16 || r.height < 16 || r.width > 8192 || r.height > 8192)) {
    return invalid_argument("output size " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                            " is out of range (16..8192)");
  }
  if (r.fps != 0 && !(r.fps >= 1 && r.fps <= 240)) return invalid_argument("output frame rate must be in 1..240");
  {
    std::vector<std::string> paths;
    for (const auto& e : request.exports) paths.push_back(e.path);
    // Formats are decided already; forcing one checks the names alone.
    SF_RETURN_IF_ERROR(exports::targets(paths, "edl").status());
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path out = request.output.empty() ? fs::path() : fs::absolute(request.output, ec).lexically_normal();
    for (const auto& e : request.exports) {
      if (!out.empty() && fs::absolute(e.path, ec).lexically_normal() == out) {
        return invalid_argument("export file '" + e.path + "' is the output");
      }
    }
  }
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
  report_.min_confidence = q.min_confidence;
  // Only the embedded engine searches for targets; Whisper is biased
  // towards them instead (hotwords, below).
  const std::vector<std::string> targets = q.targeted && q.transcribe.engine.engine == "sphinx"
                                               ? search::target_phrases(matcher_)
                                               : std::vector<std::string>{};
  // Known transcripts were listened to by the caller, or not at all.
  report_.targeted = !targets.empty() && (!q.known_transcripts || q.listened.has_value());
  report_.listened = q.listened;
  const std::vector<std::string> queries = matcher_.queries();
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
  for (const auto& e : q.exports) SF_RETURN_IF_ERROR(check_output_path(e.path).with_context("export"));

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
    if (const media::StreamInfo* v = info->video(); v != nullptr) {
      ir.has_video = true;
      ir.fps = v->fps;
      ir.width = v->display_width;
      ir.height = v->display_height;
    }
    if (const media::StreamInfo* a = info->audio(); a != nullptr) {
      ir.sample_rate = a->sample_rate;
      ir.channels = a->channels;
    }
    ir.timecode = info->timecode;
    ir.timecode_frame = info->timecode_frame;
    report_.inputs.push_back(std::move(ir));
    infos.push_back(std::move(info).value());
    live.push_back(i);
  }
  if (live.empty()) return bad_media("none of the " + std::to_string(total_videos) + " input(s) can be read");
  stage_done(report_, "probe", seconds_since(t0));

  // Transcribe, match, plan and render as one pipeline. Transcription tells
  // when each input is complete, in input order; the input is then matched
  // and its clips planned at once (the planner's clips of inputs 0..i do not
  // depend on later inputs: merging never crosses inputs and the caps keep
  // a prefix), and with overlap its clips go to the renderer while later
  // inputs are still being transcribed.
  t0 = Clock::now();
  const bool overlap = q.overlap_render && !q.dry_run;
  std::vector<std::string> paths;
  std::vector<double> starts;  // cumulative seconds before each live input
  double audio_total = 0;
  for (int i : live) {
    paths.push_back(inputs[static_cast<size_t>(i)]);
    starts.push_back(audio_total);
    audio_total += infos[static_cast<size_t>(i)].duration;
  }

  std::vector<search::Match> matches;
  std::vector<double> durations(static_cast<size_t>(total_videos), 0.0);
  std::vector<std::vector<double>> segment_starts(static_cast<size_t>(total_videos));
  std::vector<std::vector<std::string>> segment_texts(static_cast<size_t>(total_videos));
  std::vector<int> per_video(static_cast<size_t>(total_videos), 0);
  size_t matched = 0;  // live inputs matched so far
  double match_seconds = 0;
  // Whether transcription still runs: progress events then keep its stage.
  std::atomic<bool> transcribing{!q.known_transcripts.has_value()};
  std::atomic<bool> render_stage{false};  // render events may name their stage

  // The renderer, opened when the first clip comes whose profile is known.
  std::unique_ptr<media::Renderer> renderer;
  Clock::time_point t_render{};
  Status render_error;
  size_t sent = 0;  // clips given to the renderer
  std::mutex plan_mu;
  std::vector<double> clip_ends;  // GUARDED_BY(plan_mu): cumulative output seconds of the clips sent
  std::vector<int> clip_videos;   // GUARDED_BY(plan_mu)
  media::RenderOptions ropt = q.render;
  ropt.cancel = &cancelled_;
  ropt.url_readers = download_limits().clip_readers;
  const bool profile_set = ropt.width != 0 && ropt.height != 0 && ropt.fps > 0;
  auto on_render = [&](double done, double total) {
    int k = 0, nclips = 0, video = 0;
    {
      std::lock_guard lock(plan_mu);
      nclips = static_cast<int>(clip_ends.size());
      while (k < nclips && done + 1e-6 >= clip_ends[static_cast<size_t>(k)]) ++k;
      if (nclips > 0) video = clip_videos[static_cast<size_t>(std::min(k, nclips - 1))];
    }
    const bool own_stage = render_stage.load();
    hub.update([&](CompilationProgress& p) {
      if (own_stage) {
        p.stage = Stage::kRender;
        p.current_video = video + 1;
        p.current_video_title = report_.inputs[static_cast<size_t>(video)].title;
        p.eta = eta(done, total, seconds_since(t_render));
      }
      p.clips_done = k;
      p.clips_total = std::max(p.clips_total, nclips);
      p.render_done = done;
      p.render_total = std::max(p.render_total, total);
    });
  };
  // Sends the planned clips not yet sent; `last`: no more will come, so the
  // profile is decided now even when no clip has video.
  auto feed = [&](bool last) {
    if (!render_error.ok()) return;
    while (sent < report_.clips.size()) {
      if (!renderer) {
        // The profile comes from the first clip's input that has video (the
        // probe's result), as render() would take it.
        const media::MediaInfo* source = nullptr;
        if (!profile_set) {
          for (size_t c = sent; c < report_.clips.size() && source == nullptr; ++c) {
            const auto& info = infos[static_cast<size_t>(report_.clips[c].video)];
            if (info.video() != nullptr) source = &info;
          }
          if (source == nullptr && !last) return;  // a later input's clip may decide it
        }
        t_render = Clock::now();
        auto r = media::Renderer::open(q.output, ropt, source, on_render);
        if (!r.ok()) {
          render_error = r.status();
          stop_work_.store(true);
          return;
        }
        renderer = std::move(r).value();
      }
      const ClipResult& c = report_.clips[sent];
      {
        std::lock_guard lock(plan_mu);
        clip_ends.push_back((clip_ends.empty() ? 0.0 : clip_ends.back()) +
                            renderer->output_length({c.path, c.start, c.end}));
        clip_videos.push_back(c.video);
      }
      if (Status st = renderer->add({c.path, c.start, c.end}); !st.ok()) {
        render_error = st;
        stop_work_.store(true);  // transcription stops too
        return;
      }
      ++sent;
    }
    // The clips now planned for the render (during transcription, too).
    const double planned = clip_ends.empty() ? 0.0 : clip_ends.back();
    const int nplanned = static_cast<int>(sent);
    hub.update([&](CompilationProgress& p) {
      p.clips_total = std::max(p.clips_total, nplanned);
      p.render_total = std::max(p.render_total, planned);
    });
  };
  // Live input k is complete: match it and plan its clips.
  auto on_input = [&](size_t k, const InputTranscript& it) {
    if (k != matched) return;  // told twice or out of order: the fallback below covers it
    const auto tm = Clock::now();
    const int i = live[k];
    const auto words = it.transcript.words();
    auto m = search::fuse(i, matcher_.find(i, words), it.transcript.hits, queries, q.min_confidence);
    auto& ir = report_.inputs[static_cast<size_t>(i)];
    ir.words = words.size();
    ir.matches = static_cast<int>(m.size());
    ir.duration = std::max(ir.duration, it.duration);
    durations[static_cast<size_t>(i)] = ir.duration;
    for (const auto& seg : it.transcript.segments) {
      segment_starts[static_cast<size_t>(i)].push_back(seg.start);
      segment_texts[static_cast<size_t>(i)].push_back(seg.text);
    }
    matches.insert(matches.end(), m.begin(), m.end());
    ++matched;
    const bool own_stage = !transcribing.load();
    hub.update([&](CompilationProgress& p) {
      if (own_stage) {
        p.stage = Stage::kMatch;
        p.current_video = i + 1;
        p.current_video_title = ir.title;
      }
      p.words_found += static_cast<int>(m.size());
    });
    const std::vector<search::Clip> plan = search::plan_clips(matches, durations, q.clip);
    for (size_t c = report_.clips.size(); c < plan.size(); ++c) {
      const search::Clip& clip = plan[c];
      ClipResult cr;
      cr.video = clip.input;
      cr.clip = per_video[static_cast<size_t>(clip.input)]++;
      cr.path = inputs[static_cast<size_t>(clip.input)];
      cr.start = clip.start;
      cr.end = clip.end;
      cr.words = clip.words;
      cr.confidence = clip.confidence;
      cr.matches = clip.matches;
      // The clip's first match is the earliest one of its input inside it;
      // its sentences are those of the matches it shows.
      const auto& starts_of = segment_starts[static_cast<size_t>(clip.input)];
      double first = clip.end;
      std::vector<int> sentences;
      for (const auto& mm : matches) {
        if (mm.input != clip.input || mm.start < clip.start - search::kTimeEpsilon) continue;
        if (mm.start < first) first = mm.start;
        if (mm.end <= clip.end + search::kTimeEpsilon) {
          sentences.push_back(segment_at(starts_of, mm.start));
          sentences.push_back(segment_at(starts_of, mm.end));
        }
      }
      cr.segment = segment_at(starts_of, first);
      std::sort(sentences.begin(), sentences.end());
      sentences.erase(std::unique(sentences.begin(), sentences.end()), sentences.end());
      const auto& texts = segment_texts[static_cast<size_t>(clip.input)];
      for (int seg : sentences) {
        if (seg < 0 || static_cast<size_t>(seg) >= texts.size()) continue;
        std::string sentence = texts[static_cast<size_t>(seg)];
        const size_t a = sentence.find_first_not_of(" \t\r\n");
        if (a == std::string::npos) continue;
        sentence = sentence.substr(a, sentence.find_last_not_of(" \t\r\n") - a + 1);
        cr.text += (cr.text.empty() ? "" : " ") + sentence;
      }
      report_.clips.push_back(std::move(cr));
    }
    match_seconds += seconds_since(tm);
    if (overlap) feed(/*last=*/false);
  };

  TranscribeOptions topt = q.transcribe;
  topt.engine.target_words = targets;
  if (q.hotwords && topt.engine.engine == "whisper" && topt.engine.hotwords.empty()) {
    for (const std::string& phrase : search::target_phrases(matcher_)) {
      topt.engine.hotwords += (topt.engine.hotwords.empty() ? "" : ", ") + phrase;
    }
  }
  topt.cancel = &stop_work_;
  topt.segment_progress = [&](int completed, int cut) {
    hub.update([&](CompilationProgress& p) {
      p.stage = Stage::kTranscribe;
      p.segments_completed = std::max(p.segments_completed, completed);
      p.total_segments = std::max(p.total_segments, cut);
    });
  };
  topt.input_done = on_input;
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
    LibraryStats lib_stats;
    transcripts = transcribe_with_library(paths, topt, q.library, on_audio, &lib_stats);
    report_.inputs_from_library = static_cast<int>(lib_stats.known);
    report_.targeted_from_library = static_cast<int>(lib_stats.targets_known);
  }
  transcribing.store(false);
  if (!render_error.ok()) return render_error;
  // finish_early(): transcription was stopped; what the inputs completed so
  // far hold is compiled.
  const bool early = !transcripts.ok() && transcripts.status().code() == Code::kCancelled &&
                     finish_early_.load() && !stopped();
  if (!transcripts.ok() && !early) return transcripts.status();
  const auto t_transcribed = Clock::now();
  stage_done(report_, "transcribe", seconds_since(t0));
  if (stopped()) return cancelled("stopped on request; no output written");

  if (early) {
    report_.errors.push_back("stopped early on request: " + std::to_string(matched) + " of " +
                             std::to_string(live.size()) + " input(s) transcribed");
  } else {
    // Inputs the pipeline did not tell (known transcripts: all of them).
    for (size_t k = matched; k < live.size(); ++k) on_input(k, (*transcripts)[k]);
  }
  report_.matches = static_cast<int>(matches.size());
  search::ClipOptions uncapped = q.clip;
  uncapped.max_length.reset();
  uncapped.max_clips.reset();
  const std::vector<search::Clip> all = search::plan_clips(matches, durations, uncapped);
  const auto& clips = report_.clips;
  report_.early_termination = early || clips.size() < all.size() ||
                              (!clips.empty() && clips.back().end < all[clips.size() - 1].end - 1e-9);
  hub.update([&](CompilationProgress& p) { p.stage = Stage::kMatch; });
  stage_done(report_, "match", match_seconds);
  if (clips.empty()) {
    return Status(Code::kNoMatch, "no match for \"" + join_words(q.target_words) + "\" in " +
                                      std::to_string(live.size()) + " input(s)");
  }
  if (q.dry_run) {
    // Planned output positions: each clip follows the ones before it.
    double at = 0;
    for (auto& c : report_.clips) {
      c.output_start = at;
      at += c.end - c.start;
      c.output_end = at;
    }
    SF_RETURN_IF_ERROR(write_exports());
    return report_;
  }
  if (stopped()) return cancelled("stopped on request; no output written");

  // Render what is left, in the plan's order (everything without overlap).
  render_stage.store(true);
  feed(/*last=*/true);
  if (!render_error.ok()) return render_error;
  auto rendered = renderer->finish();
  if (!rendered.ok()) return rendered.status();
  // With overlap the render began during transcription: "render" is its
  // whole time, "render_tail" the part after the last transcript.
  stage_done(report_, "render", seconds_since(t_render));
  stage_done(report_, "render_tail", seconds_since(t_transcribed));
  for (size_t i = 0; i < report_.clips.size() && i < rendered->clips.size(); ++i) {
    report_.clips[i].output_start = rendered->clips[i].output_start;
    report_.clips[i].output_end = rendered->clips[i].output_end;
  }
  report_.rendered = std::move(rendered).value();
  SF_RETURN_IF_ERROR(write_exports());
  const int nclips = static_cast<int>(report_.clips.size());
  hub.update([&](CompilationProgress& p) {
    p.stage = Stage::kDone;
    p.clips_done = nclips;
    p.eta = 0;
  });
  return report_;
}

Status CompilationJob::write_exports() {
  if (request_.exports.empty()) return {};
  const auto t0 = Clock::now();
  exports::Timeline t = export_timeline(report_, request_.render);
  if (report_.output.empty()) {
    // Named after the first export: "cut.mpv.edl" -> "cut".
    const exports::Target& first = request_.exports.front();
    std::string name = std::filesystem::path(first.path).filename().string();
    const std::string_view ext = exports::extension(first.format);
    if (name.size() > ext.size() && name.ends_with(ext)) name.resize(name.size() - ext.size());
    t.name = name;
  }
  for (const auto& e : request_.exports) {
    SF_RETURN_IF_ERROR(write_file_atomic(e.path, exports::render(t, e.format)).with_context("export"));
    report_.exports.push_back(e);
  }
  stage_done(report_, "export", seconds_since(t0));
  return {};
}

}  // namespace sf::pipeline
