// `studioflow import SRC... --to PROJECT`: normalized media, edit proxies
// and transcripts for a folder of footage (import/import.h).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/cancel.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "import/import.h"

namespace sf::cli {
namespace {

struct ImportFlags {
  import::ImportRequest req;
  bool no_normalize = false, no_proxy = false, no_transcript = false;
  bool watch = false;
  double settle = 2.0;
  std::string report;
};

// One status line, redrawn at most twice a second on a terminal, logged
// every 10 s otherwise.
class StageLine {
 public:
  explicit StageLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}
  ~StageLine() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
  }
  void update(const import::ImportProgress& p) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double gap = tty_ ? 0.5 : 10.0;
    if (std::chrono::duration<double>(now - last_).count() < gap) return;
    last_ = now;
    auto stage = [](const char* name, const import::StageProgress& s) {
      char b[96];
      std::snprintf(b, sizeof b, "%s %d/%d%s", name, s.done, s.total, s.running > 0 ? "*" : "");
      return std::string(b);
    };
    std::string line = stage("normalize", p.normalize) + "  " + stage("proxy", p.proxy) + "  " +
                       stage("transcribe", p.transcript);
    if (p.audio_total > 0) {
      char b[32];
      std::snprintf(b, sizeof b, " (%.0f%%)", 100.0 * p.audio_done / p.audio_total);
      line += b;
    }
    if (tty_) {
      std::fprintf(stderr, "\r\033[Kimport: %s", line.c_str());
      drawn_ = true;
    } else {
      SF_LOG_INFO("import: {}", line);
    }
  }

 private:
  bool enabled_, tty_, drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

std::string loudness_text(const nlohmann::json& details) {
  if (!details.contains("streams") || details["streams"].empty()) return "-";
  const auto& s = details["streams"][0];
  auto v = [](const nlohmann::json& j) {
    if (!j.is_number()) return std::string("-inf");
    char b[16];
    std::snprintf(b, sizeof b, "%.1f", j.get<double>());
    return std::string(b);
  };
  return v(s["before"]["integrated"]) + " -> " + v(s["after"]["integrated"]) + " LUFS";
}

void print_summary(const import::ImportReport& r) {
  std::printf("%-40s  %-26s  %-18s  %s\n", "file", "loudness", "proxy", "transcript");
  for (const auto& f : r.files) {
    if (!f.error.empty()) {
      std::printf("%-40s  error: %s\n", f.name.c_str(), f.error.c_str());
      continue;
    }
    auto state = [](const import::ProductResult& p) { return std::string(import::product_state_name(p.state)); };
    std::string loud = f.normalized.state == import::ProductState::kDone ||
                               f.normalized.state == import::ProductState::kReused
                           ? loudness_text(f.normalized.details)
                           : state(f.normalized);
    if (f.normalized.state == import::ProductState::kReused) loud += " (kept)";
    std::string proxy = state(f.proxy);
    if (f.proxy.details.contains("files") && !f.proxy.details["files"].empty()) {
      char b[48];
      std::snprintf(b, sizeof b, "%.1f MB%s", f.proxy.details["files"][0].value("bytes", 0.0) / 1e6,
                    f.proxy.state == import::ProductState::kReused ? " (kept)" : "");
      proxy = b;
    }
    std::string words = state(f.transcript);
    if (f.transcript.details.contains("words")) {
      words = std::to_string(f.transcript.details["words"].get<long>()) + " words" +
              (f.transcript.state == import::ProductState::kReused ? " (kept)" : "");
    }
    std::printf("%-40s  %-26s  %-18s  %s\n", f.name.c_str(), loud.c_str(), proxy.c_str(), words.c_str());
    for (const import::ProductResult* p : {&f.normalized, &f.proxy, &f.transcript}) {
      if (p->state == import::ProductState::kFailed || (!p->note.empty() && p->state == import::ProductState::kDone)) {
        std::printf("    %s\n", p->note.c_str());
      }
    }
  }
  std::printf("%zu file(s), %d not media, %d failed, %.1f s%s\n", r.files.size(), r.not_media, r.failed(),
              r.seconds, r.cancelled ? ", stopped before the end" : "");
}

int run_import_cmd(ImportFlags f) {
  f.req.normalize = !f.no_normalize;
  f.req.proxy = !f.no_proxy;
  f.req.transcript = !f.no_transcript;
  if (!f.req.normalize && !f.req.proxy && !f.req.transcript) {
    return fail(invalid_argument("--no-normalize, --no-proxy and --no-transcript leave nothing to do"));
  }
  if (!f.report.empty()) {
    if (Status s = check_output_path(f.report); !s.ok()) return fail(s.with_context("--report"));
  }
  const bool show = log::current_level() <= log::Level::kInfo;
  auto line = std::make_shared<StageLine>(show);
  auto progress = [line](const import::ImportProgress& p) { line->update(p); };
  auto finish = [&](const import::ImportReport& r) -> int {
    line = std::make_shared<StageLine>(show);
    print_summary(r);
    std::fflush(stdout);
    if (!f.report.empty()) {
      if (Status s = write_file_atomic(f.report, dump_json(r.to_json(), 2) + "\n"); !s.ok()) return fail(s);
    }
    if (r.cancelled) return kExitCancelled;
    return r.failed() > 0 ? kExitError : kExitOk;
  };
  if (f.watch) {
    import::WatchOptions wo;
    wo.settle = f.settle;
    Status s = import::watch_and_import(
        f.req, wo, [&](const import::ImportReport& r) { (void)finish(r); }, progress);
    if (!s.ok()) return fail(s);
    // Watching ends only when asked to stop: the usual exit of a stop.
    return cancel_requested() ? kExitCancelled : kExitOk;
  }
  auto r = import::run_import(f.req, progress);
  if (!r.ok()) return fail(r.status());
  return finish(*r);
}

}  // namespace

void register_import(CLI::App& app, std::vector<Command>& out) {
  auto f = std::make_shared<ImportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "import", "normalized media, edit proxies and transcripts for footage, into a project folder");
  cmd->add_option("sources", f->req.sources, "media files and folders (searched recursively)")->required();
  cmd->add_option("--to", f->req.project, "the project folder")->required();
  cmd->add_flag("--no-normalize", f->no_normalize, "make no loudness-normalized copies");
  cmd->add_flag("--no-proxy", f->no_proxy, "make no edit proxies");
  cmd->add_flag("--no-transcript", f->no_transcript, "make no transcripts");
  cmd->add_option("--loudness", f->req.loudness.target, "integrated loudness target, LUFS (e.g. -16 for web)")
      ->capture_default_str();
  cmd->add_option("--true-peak", f->req.loudness.true_peak, "true-peak ceiling, dBTP")->capture_default_str();
  cmd->add_option("--proxy-size", f->req.proxy_size, "half | quarter | WIDTHxHEIGHT | HEIGHTp")
      ->capture_default_str();
  cmd->add_option("--proxy-codec", f->req.proxy_codec, "h264 | prores (ProRes 422 Proxy) | dnxhr (DNxHR LB), MOV")
      ->capture_default_str();
  cmd->add_option("--encoder", f->req.encoder, "force the proxies' video encoder, e.g. libx264");
  cmd->add_flag("--cpu", f->req.cpu_only, "encode proxies with libx264");
  cmd->add_option("--normalize-jobs", f->req.normalize_jobs, "files normalized at once")->capture_default_str();
  cmd->add_option("--proxy-jobs", f->req.proxy_jobs, "proxies made at once")->capture_default_str();
  cmd->add_option("--report", f->report, "also write the JSON report here");
  cmd->add_flag("--watch", f->watch, "keep running and import new files once they stop growing (Ctrl-C stops)");
  cmd->add_option("--settle", f->settle, "--watch: seconds a new file must keep its size")->capture_default_str();
  add_engine_flags(cmd, &f->req.transcribe);
  add_library_flags(cmd, &f->req.library);
  out.push_back({cmd, [f] { return run_import_cmd(*f); }});
}

}  // namespace sf::cli
