// `studioflow bench export`: the time to write every export format for a
// large synthetic cut.
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/json.h"
#include "export/timeline.h"

namespace sf::cli {
namespace {

struct ExportBenchFlags {
  int clips = 10000;
  int sources = 100;
};

// `sources` inputs in turn 25 fps, 29.97 fps with a start timecode, and
// audio only; `clips` clips of 2.4 s spread over them in output order.
exports::Timeline synthetic(const ExportBenchFlags& f) {
  exports::Timeline t;
  for (int i = 0; i < f.sources; ++i) {
    exports::Source s;
    s.path = "/footage/day " + std::to_string(i / 10) + "/take_" + std::to_string(i) + (i % 3 == 2 ? ".m4a" : ".mov");
    s.duration = 3600;
    s.has_video = i % 3 != 2;
    s.fps = i % 3 == 0 ? 25.0 : 30000.0 / 1001.0;
    s.width = 1920;
    s.height = 1080;
    if (i % 3 == 1) s.timecode = "01:00:00;00";
    t.sources.push_back(std::move(s));
  }
  double at = 0;
  for (int k = 0; k < f.clips; ++k) {
    exports::Clip c;
    c.source = static_cast<int>(static_cast<long long>(k) * f.sources / f.clips);
    c.start = 1.0 + (k % 1000) * 3.3;
    c.end = c.start + 2.4;
    c.output_start = at;
    at += 2.4;
    c.output_end = at;
    c.text = "The council approved the budget for the new school year today.";
    c.words = {"budget"};
    t.clips.push_back(std::move(c));
  }
  return t;
}

int run_bench_export(const ExportBenchFlags& f) {
  using Clock = std::chrono::steady_clock;
  const exports::Timeline t = synthetic(f);
  nlohmann::json formats = nlohmann::json::object();
  double total = 0;
  for (exports::Format fmt : exports::all_formats()) {
    const auto t0 = Clock::now();
    const std::string text = exports::render(t, fmt);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    total += secs;
    formats[std::string(exports::format_name(fmt))] = {{"ms", secs * 1000.0}, {"bytes", text.size()}};
  }
  const nlohmann::json j = {
      {"clips", f.clips}, {"sources", f.sources}, {"formats", formats}, {"total_ms", total * 1000.0}};
  std::printf("%s\n", dump_json(j).c_str());
  return kExitOk;
}

}  // namespace

void register_bench_export(CLI::App* bench, std::vector<Command>& out) {
  auto f = std::make_shared<ExportBenchFlags>();
  CLI::App* cmd = bench->add_subcommand(
      "export", "write every editor export format for a synthetic cut; prints JSON timings (ms per format)");
  cmd->add_option("--clips", f->clips, "clips in the cut")->capture_default_str()->check(CLI::Range(1, 10000000));
  cmd->add_option("--sources", f->sources, "source files the clips come from")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  out.push_back({cmd, [f] { return run_bench_export(*f); }});
}

}  // namespace sf::cli
