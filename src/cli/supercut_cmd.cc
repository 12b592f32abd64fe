#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "core/files.h"
#include "core/log.h"
#include "media/probe.h"
#include "media/render.h"
#include "pipeline/resolve.h"
#include "search/clip_planner.h"
#include "search/matcher.h"

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
  pipeline::TranscribeOptions opts;
};

class StageTimer {
 public:
  void start() { t0_ = std::chrono::steady_clock::now(); }
  double stop() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  std::chrono::steady_clock::time_point t0_;
};

Status parse_size(const std::string& s, int* w, int* h) {
  if (s.empty()) return {};
  if (std::sscanf(s.c_str(), "%dx%d", w, h) != 2 || *w < 16 || *h < 16 || *w > 8192 || *h > 8192) {
    return invalid_argument("--size '" + s + "' must be WIDTHxHEIGHT, e.g. 1280x720 (16..8192)");
  }
  return {};
}

std::string join_words(const std::vector<std::string>& w) {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : " ") + x;
  return s;
}

int run_supercut(SupercutFlags f) {
  using nlohmann::json;
  if (f.words.empty()) return fail(invalid_argument("no words given: pass -w WORD_OR_PHRASE"));
  if (f.output.empty() && !f.dry_run) return fail(invalid_argument("no output given: pass -o OUT.mp4"));
  if (f.max_length != 0) f.clip.max_length = f.max_length;
  if (f.max_clips != 0) f.clip.max_clips = f.max_clips;
  if (Status s = search::validate(f.clip); !s.ok()) return fail(s);
  auto mode = search::parse_match_mode(f.match);
  if (!mode.ok()) return fail(mode.status());
  auto matcher = search::Matcher::create(f.words, *mode);
  if (!matcher.ok()) return fail(matcher.status());
  media::RenderOptions ropt;
  if (Status s = parse_size(f.size, &ropt.width, &ropt.height); !s.ok()) return fail(s);
  if (f.fps != 0 && (f.fps < 1 || f.fps > 240)) return fail(invalid_argument("--fps must be in 1..240"));
  ropt.fps = f.fps;
  ropt.encoder = f.encoder;
  ropt.cpu_only = f.cpu;
  if (!f.output.empty()) {
    if (Status s = check_output_path(f.output); !s.ok()) return fail(s);
  }
  if (!f.report.empty()) {
    if (Status s = check_output_path(f.report); !s.ok()) return fail(s.with_context("--report"));
  }

  json stages = json::object();
  StageTimer timer;
  const bool show = log::current_level() <= log::Level::kInfo;

  // Probe: every input must be readable media with sound.
  timer.start();
  auto resolved = pipeline::resolve_inputs(f.inputs);
  if (!resolved.ok()) return fail(resolved.status());
  for (const auto& e : resolved->errors) SF_LOG_WARN("input left out: {}", e.status.message());
  f.inputs = pipeline::locations(resolved->inputs);
  std::vector<media::MediaInfo> infos;
  for (const auto& in : f.inputs) {
    auto info = media::probe(in);
    if (!info.ok()) return fail(info.status());
    if (info->audio() == nullptr) return fail(bad_media(in + ": has no audio stream, so there is nothing to search"));
    infos.push_back(std::move(info).value());
  }
  stages["probe"] = timer.stop();

  timer.start();
  Result<std::vector<pipeline::InputTranscript>> transcripts = internal_error("not run");
  {
    Progress progress("transcribe", show);
    transcripts = pipeline::transcribe_inputs(f.inputs, f.opts, [&](double d, double t) { progress.update(d, t); });
  }
  if (!transcripts.ok()) return fail(transcripts.status());
  stages["transcribe"] = timer.stop();

  timer.start();
  std::vector<search::Match> matches;
  std::vector<double> durations;
  for (size_t i = 0; i < transcripts->size(); ++i) {
    const auto words = (*transcripts)[i].transcript.words();
    auto m = matcher->find(static_cast<int>(i), words);
    matches.insert(matches.end(), m.begin(), m.end());
    durations.push_back(std::max(infos[i].duration, (*transcripts)[i].duration));
  }
  const size_t n_matches = matches.size();
  std::vector<search::Clip> clips = search::plan_clips(std::move(matches), durations, f.clip);
  stages["match"] = timer.stop();

  json report = {{"inputs", json::array()}, {"words", f.words}, {"match", f.match},
                 {"engine", f.opts.engine.engine}, {"matches", n_matches}};
  for (size_t i = 0; i < f.inputs.size(); ++i) {
    report["inputs"].push_back({{"index", i}, {"path", f.inputs[i]}, {"duration", durations[i]},
                                {"words", (*transcripts)[i].transcript.words().size()},
                                {"title", resolved->inputs[i].title}});
  }
  if (clips.empty()) {
    return fail(Status(Code::kNoMatch, "no match for \"" + join_words(f.words) + "\" in " +
                                           std::to_string(f.inputs.size()) + " input(s)"));
  }

  json jclips = json::array();
  for (const auto& c : clips) {
    jclips.push_back({{"input", c.input}, {"path", f.inputs[static_cast<size_t>(c.input)]},
                      {"start", c.start}, {"end", c.end}, {"words", join_words(c.words)}});
  }
  if (f.dry_run) {
    for (const auto& c : clips) {
      std::printf("%s\t%.3f\t%.3f\t%s\n", f.inputs[static_cast<size_t>(c.input)].c_str(), c.start, c.end,
                  join_words(c.words).c_str());
    }
    report["clips"] = jclips;
    report["stages"] = stages;
    report["dry_run"] = true;
    if (!f.report.empty()) {
      if (Status s = write_file_atomic(f.report, report.dump(2) + "\n"); !s.ok()) return fail(s);
    }
    return kExitOk;
  }

  timer.start();
  std::vector<media::RenderClip> rclips;
  for (const auto& c : clips) rclips.push_back({f.inputs[static_cast<size_t>(c.input)], c.start, c.end});
  Result<media::RenderResult> rendered = internal_error("not run");
  {
    Progress progress("render", show);
    rendered = media::render(rclips, f.output, ropt, [&](double d, double t) { progress.update(d, t); });
  }
  if (!rendered.ok()) return fail(rendered.status());
  stages["render"] = timer.stop();

  for (size_t i = 0; i < clips.size(); ++i) {
    jclips[i]["output_start"] = rendered->clips[i].output_start;
    jclips[i]["output_end"] = rendered->clips[i].output_end;
  }
  report["clips"] = jclips;
  report["output"] = {{"path", f.output}, {"duration", rendered->duration}, {"width", rendered->width},
                      {"height", rendered->height}, {"fps", rendered->fps}, {"frames", rendered->frames}};
  report["encoder"] = rendered->encoder;
  report["preset"] = rendered->preset;
  report["stages"] = stages;
  if (!f.report.empty()) {
    if (Status s = write_file_atomic(f.report, report.dump(2) + "\n"); !s.ok()) return fail(s);
  }
  SF_LOG_INFO("{} clip(s), {:.1f} s, encoder {} -> {}", clips.size(), rendered->duration, rendered->encoder,
              f.output);
  std::printf("%s\n", f.output.c_str());
  return kExitOk;
}

}  // namespace

void register_supercut(CLI::App& app, std::vector<Command>& out) {
  auto f = std::make_shared<SupercutFlags>();
  CLI::App* cmd = app.add_subcommand("supercut", "every moment the words are said, in order, in one video");
  cmd->add_option("-i,--input", f->inputs, "input media files, http(s) URLs, playlists (.m3u, .m3u8) or pages")->required();
  cmd->add_option("-w,--word", f->words, "word or phrase to find (repeatable)");
  cmd->add_option("-o,--output", f->output, "output MP4");
  cmd->add_option("--padding-before", f->clip.padding_before, "seconds before each match")->capture_default_str();
  cmd->add_option("--padding-after", f->clip.padding_after, "seconds after each match")->capture_default_str();
  cmd->add_option("--merge-gap", f->clip.merge_gap, "merge clips closer than this (seconds)")->capture_default_str();
  cmd->add_option("--max-length", f->max_length, "cap the output at this many seconds");
  cmd->add_option("--max-clips", f->max_clips, "keep at most this many clips");
  cmd->add_option("--match", f->match, "exact | prefix | regex")->capture_default_str();
  cmd->add_option("--report", f->report, "write a JSON report here");
  cmd->add_flag("--dry-run", f->dry_run, "print the matches, render nothing");
  cmd->add_option("--size", f->size, "output WIDTHxHEIGHT (default: first video input)");
  cmd->add_option("--fps", f->fps, "output frame rate (default: first video input)");
  cmd->add_option("--encoder", f->encoder, "force a video encoder, e.g. libx264, h264_nvenc");
  cmd->add_flag("--cpu", f->cpu, "encode with libx264");
  add_engine_flags(cmd, &f->opts);
  out.push_back({cmd, [f] { return run_supercut(*f); }});
}

}  // namespace sf::cli
