#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "cli/machine_plan.h"
#include "cli/progress.h"
#include "core/config.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "export/timeline.h"
#include "gpu/sampler.h"
#include "pipeline/compilation.h"

namespace sf::cli {
namespace {

struct SupercutFlags {
  std::vector<std::string> inputs;
  std::vector<std::string> words;
  std::string output;
  std::string match = "exact";
  search::ClipOptions clip;
  double max_length = 0;
  int max_clips = 0;
  std::string report;
  bool dry_run = false;
  std::string size;
  double fps = 0;
  std::string encoder;
  bool cpu = false;
  bool no_overlap = false;
  pipeline::TranscribeOptions opts;
  pipeline::LibraryOptions library;
  bool from_library = false;
  bool targeted = false;     // --targeted: also with --from-library
  bool no_targeted = false;  // --no-targeted
  bool no_hotwords = false;
  double min_confidence = search::kDefaultMinConfidence;
  std::vector<std::string> exports;
  std::string export_format;
};

Status parse_size(const std::string& s, int* w, int* h) {
  if (s.empty()) return {};
  if (std::sscanf(s.c_str(), "%dx%d", w, h) != 2 || *w < 16 || *h < 16 || *w > 8192 || *h > 8192) {
    return invalid_argument("--size '" + s + "' must be WIDTHxHEIGHT, e.g. 1280x720 (16..8192)");
  }
  return {};
}

// The CLI's door into the compilation job: flags -> request, progress ->
// bars, report -> file and stdout.
int run_supercut(SupercutFlags f) {
  if (f.words.empty()) return fail(invalid_argument("no words given: pass -w WORD_OR_PHRASE"));
  if (f.output.empty() && !f.dry_run) return fail(invalid_argument("no output given: pass -o OUT.mp4"));
  if (f.fps != 0 && (f.fps < 1 || f.fps > 240)) return fail(invalid_argument("--fps must be in 1..240"));
  // Export names and formats are checked before any work.
  if (!f.export_format.empty() && f.exports.empty()) {
    return fail(invalid_argument("--export-format needs at least one --export FILE"));
  }
  auto export_targets = exports::targets(f.exports, f.export_format);
  if (!export_targets.ok()) return fail(export_targets.status().with_context("--export"));
  pipeline::CompilationRequest q;
  q.exports = *export_targets;
  q.inputs = f.inputs;
  q.target_words = f.words;
  q.clip = f.clip;
  if (f.max_length != 0) q.clip.max_length = f.max_length;
  if (f.max_clips != 0) q.clip.max_clips = f.max_clips;
  auto mode = search::parse_match_mode(f.match);
  if (!mode.ok()) return fail(mode.status());
  q.match = *mode;
  if (Status s = parse_size(f.size, &q.render.width, &q.render.height); !s.ok()) return fail(s);
  q.render.fps = f.fps;
  q.render.encoder = f.encoder;
  q.render.cpu_only = f.cpu;
  q.overlap_render = !f.no_overlap;
  q.transcribe = f.opts;
  if (f.targeted && f.no_targeted) return fail(invalid_argument("--targeted and --no-targeted contradict each other"));
  // Inputs are decoded anyway, so the targeted pass is on unless turned
  // off; a cut from the library decodes nothing unless --targeted asks.
  q.targeted = f.from_library ? f.targeted : !f.no_targeted;
  q.hotwords = !f.no_hotwords;
  q.min_confidence = f.min_confidence;
  q.output = f.dry_run ? std::string() : f.output;
  q.dry_run = f.dry_run;
  q.library = f.library;
  // --from-library: the inputs are the library's media where the words are
  // said; their transcripts come from it, nothing is transcribed.
  if (f.from_library) {
    if (!f.inputs.empty()) return fail(invalid_argument("--from-library cuts from the library: give no -i"));
    if (!f.library.enabled) return fail(invalid_argument("--from-library and --no-library contradict each other"));
    // Targeted: every medium the library knows is a candidate, and the
    // pass listens again to just the audio its transcript says it needs.
    const bool listen = f.targeted && *mode == search::MatchMode::kExact && f.opts.engine.engine == "sphinx";
    Result<std::vector<pipeline::InputTranscript>> lib = internal_error("not run");
    if (listen) {
      pipeline::TranscribeOptions topt = f.opts;
      for (const auto& w : f.words) {
        const std::string phrase = search::target_phrase(w);
        if (!phrase.empty() && std::find(topt.engine.target_words.begin(), topt.engine.target_words.end(),
                                         phrase) == topt.engine.target_words.end()) {
          topt.engine.target_words.push_back(phrase);
        }
      }
      pipeline::ListenStats listened;
      lib = pipeline::targeted_library_inputs(f.library, topt, {}, &listened);
      q.listened = listened;
    } else {
      lib = pipeline::library_inputs(
          f.library, f.opts, *mode == search::MatchMode::kRegex ? std::vector<std::string>{} : f.words,
          *mode == search::MatchMode::kPrefix ? store::QueryMode::kPrefix : store::QueryMode::kExact);
    }
    if (!lib.ok()) return fail(lib.status());
    for (const auto& t : *lib) q.inputs.push_back(t.path);
    if (q.inputs.empty()) {
      std::string words;
      for (const auto& w : f.words) words += (words.empty() ? "" : " ") + w;
      return fail(Status(Code::kNoMatch, "no medium in the library says \"" + words + "\""));
    }
    q.known_transcripts = std::move(lib).value();
  } else if (f.inputs.empty()) {
    return fail(invalid_argument("no inputs given: pass -i INPUT... or --from-library"));
  }
  auto job = pipeline::CompilationJob::create(std::move(q));
  if (!job.ok()) return fail(job.status());
  if (!f.dry_run) {
    if (Status s = check_output_path(f.output); !s.ok()) return fail(s);
    if (Status s = check_not_an_input(f.output, (*job)->request().inputs); !s.ok()) return fail(s);
  }
  for (const auto& e : (*job)->request().exports) {
    if (Status s = check_output_path(e.path); !s.ok()) return fail(s.with_context("--export"));
    if (Status s = check_not_an_input(e.path, (*job)->request().inputs); !s.ok()) {
      return fail(s.with_context("--export"));
    }
    if (e.path == f.report) return fail(invalid_argument("--export " + e.path + " is also the --report file"));
  }
  if (!f.report.empty()) {
    if (Status s = check_output_path(f.report); !s.ok()) return fail(s.with_context("--report"));
    if (Status s = check_not_an_input(f.report, (*job)->request().inputs); !s.ok()) {
      return fail(s.with_context("--report"));
    }
  }

  // SAVE_PROFILING_DATA: <output>.profile.json with the stage times, the
  // capacity plan made before the job, and GPU samples taken while it runs.
  const std::string profile =
      f.dry_run || !config::env_bool("SAVE_PROFILING_DATA") ? "" : f.output + ".profile.json";
  nlohmann::json profile_plan;
  std::unique_ptr<gpu::Sampler> sampler;
  if (!profile.empty()) {
    if (Status s = check_not_an_input(profile, (*job)->request().inputs); !s.ok()) return fail(s);
    auto mp = plan_this_machine(f.opts.engine, 0, 0);
    if (mp.ok()) profile_plan = gpu::plan_to_json(mp->plan);
    gpu::SamplerOptions so = gpu::sampler_options_from_env();
    so.baseline_seconds = 0;
    if (auto started = gpu::Sampler::start(so); started.ok()) sampler = std::move(started).value();
  }

  const bool show = log::current_level() <= log::Level::kInfo;
  std::unique_ptr<Progress> bar;
  pipeline::Stage bar_stage = pipeline::Stage::kDone;
  auto result = (*job)->run([&](const pipeline::CompilationProgress& p) {
    const bool transcribing = p.stage == pipeline::Stage::kTranscribe;
    const bool rendering = p.stage == pipeline::Stage::kRender;
    if (!transcribing && !rendering) {
      bar.reset();
      return;
    }
    if (!bar || bar_stage != p.stage) {
      bar = std::make_unique<Progress>(transcribing ? "transcribe" : "render", show);
      bar_stage = p.stage;
    }
    if (transcribing) bar->update(p.audio_done, p.audio_total);
    if (rendering) bar->update(p.render_done, p.render_total);
  });
  bar.reset();
  if (!result.ok()) return fail(result.status());
  const pipeline::CompilationReport& report = *result;
  if (f.dry_run) {
    for (const auto& c : report.clips) {
      std::string words;
      for (const auto& w : c.words) words += (words.empty() ? "" : " ") + w;
      // Then the clip's confidence and each match: where, how sure, and why
      // (1 = one-best transcript, s = spotter score per phone and its
      // milliseconds per phone, p = lattice
      // posterior, b = posterior in the decode biased towards the targets,
      // n = the SNR and the noise's spread where it was heard, in dB),
      // so a threshold can be picked.
      std::string why;
      for (const auto& m : c.matches) {
        const auto& e = m.evidence;
        std::string ev;
        if (e.one_best) ev += "1";
        if (e.spotted) ev += fmt::format("{}s{:.1f}", ev.empty() ? "" : ",", e.spot_score);
        if (e.phone_seconds > 0) ev += fmt::format("/{:.0f}ms", 1000 * e.phone_seconds);
        if (e.posterior > 0) ev += fmt::format("{}p{:.2f}", ev.empty() ? "" : ",", e.posterior);
        if (e.biased_posterior > 0) ev += fmt::format("{}b{:.2f}", ev.empty() ? "" : ",", e.biased_posterior);
        if (e.snr_db < asr::TargetHit::kCleanSnrDb) {
          ev += fmt::format("{}n{:.0f}/{:.1f}", ev.empty() ? "" : ",", e.snr_db, e.noise_spread_db);
        }
        why += fmt::format("{}{}@{:.2f}={:.2f}({})", why.empty() ? "" : " ", m.query, m.start, m.confidence, ev);
      }
      std::printf("%s\t%.3f\t%.3f\t%s\t%.2f\t%s\n", c.path.c_str(), c.start, c.end, words.c_str(), c.confidence,
                  why.c_str());
    }
  }
  if (!f.report.empty()) {
    if (Status s = write_file_atomic(f.report, dump_json(report.to_json(), 2) + "\n"); !s.ok()) return fail(s);
  }
  if (f.dry_run) return kExitOk;
  if (!profile.empty()) {
    nlohmann::json p;
    p["stages"] = nlohmann::json::array();  // in the order run
    for (const auto& [stage, secs] : report.stages) {
      p["stages"].push_back({{"stage", stage}, {"seconds", secs}});
    }
    p["plan"] = profile_plan;
    if (sampler) sampler->stop();
    p["gpu_samples"] =
        sampler ? gpu::samples_to_json(sampler->later_samples()) : nlohmann::json::array();
    if (Status s = write_file_atomic(profile, dump_json(p, 2) + "\n"); !s.ok()) return fail(s);
  }
  SF_LOG_INFO("{} clip(s), {:.1f} s, encoder {} -> {}", report.clips.size(), report.rendered->duration,
              report.rendered->encoder, f.output);
  std::printf("%s\n", f.output.c_str());
  return kExitOk;
}

}  // namespace

void register_supercut(CLI::App& app, std::vector<Command>& out) {
  auto f = std::make_shared<SupercutFlags>();
  CLI::App* cmd = app.add_subcommand("supercut", "every moment the words are said, in order, in one video");
  cmd->add_option("-i,--input", f->inputs, "input media files, http(s) URLs, playlists (.m3u, .m3u8) or pages");
  cmd->add_option("-w,--word", f->words, "word or phrase to find (repeatable)");
  cmd->add_option("-o,--output", f->output, "output MP4");
  cmd->add_option("--padding-before", f->clip.padding_before, "seconds before each match")->capture_default_str();
  cmd->add_option("--padding-after", f->clip.padding_after, "seconds after each match")->capture_default_str();
  cmd->add_option("--merge-gap", f->clip.merge_gap, "merge clips closer than this (seconds)")->capture_default_str();
  cmd->add_option("--max-length", f->max_length, "cap the output at this many seconds");
  cmd->add_option("--max-clips", f->max_clips, "keep at most this many clips");
  cmd->add_option("--match", f->match, "exact | prefix | regex")->capture_default_str();
  cmd->add_option("--report", f->report, "write a JSON report here");
  cmd->add_option("--export", f->exports,
                  "also write the cut for editors or players (repeatable), format by extension: " +
                      exports::formats_help());
  cmd->add_option("--export-format", f->export_format,
                  "write every --export in this format whatever its extension (edl, fcp7, fcpxml, otio, mpv, srt, vtt)");
  cmd->add_flag("--dry-run", f->dry_run,
                "print the clips (path, start, end, words, confidence, each match with its evidence), render nothing");
  cmd->add_option("--min-confidence", f->min_confidence,
                  "cut only matches at least this sure, 0..1 (lower finds more, with more mistakes)")
      ->capture_default_str();
  cmd->add_flag("--targeted", f->targeted,
                "also listen for the words themselves (keyword spotting, lattice posteriors; sphinx, exact mode): "
                "on by default for -i inputs; with --from-library, listens again to the audio it needs");
  cmd->add_flag("--no-targeted", f->no_targeted,
                "match the one-best transcript only (faster; an input the library knows is not decoded again)");
  cmd->add_flag("--no-hotwords", f->no_hotwords,
                "whisper: do not bias the decoder toward the words looked for (they are by default)");
  cmd->add_option("--size", f->size, "output WIDTHxHEIGHT (default: first video input)");
  cmd->add_option("--fps", f->fps, "output frame rate (default: first video input)");
  cmd->add_option("--encoder", f->encoder, "force a video encoder, e.g. libx264, h264_nvenc");
  cmd->add_flag("--cpu", f->cpu, "encode with libx264");
  cmd->add_flag("--no-overlap", f->no_overlap,
                "render only after every input is transcribed (default: render while transcribing)");
  add_engine_flags(cmd, &f->opts);
  add_library_flags(cmd, &f->library);
  cmd->add_flag("--from-library", f->from_library,
                "cut from every medium in the transcript library where the words are said (no -i)");
  out.push_back({cmd, [f] { return run_supercut(*f); }});
}

}  // namespace sf::cli
