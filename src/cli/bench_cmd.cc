#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/files.h"
#include "core/json.h"
#include "media/encode_floor.h"

namespace sf::cli {
namespace {

struct FloorFlags {
  long long frames = 0;
  std::string size = "1280x720";
  double fps = 25;
  std::string encoder;
  bool cpu = false;
  bool no_audio = false;
  std::string output;
};

int run_render_floor(const FloorFlags& f) {
  media::EncodeFloorOptions o;
  o.frames = f.frames;
  if (std::sscanf(f.size.c_str(), "%dx%d", &o.width, &o.height) != 2) {
    return fail(invalid_argument("--size '" + f.size + "' must be WIDTHxHEIGHT, e.g. 1280x720"));
  }
  o.fps = f.fps;
  o.encoder = f.encoder;
  o.cpu_only = f.cpu;
  o.audio = !f.no_audio;

  // Without -o the MP4 is only a by-product: written to the temp folder and
  // removed, so repeated runs leave nothing behind.
  std::string path = f.output;
  if (path.empty()) {
    std::error_code ec;
    auto dir = std::filesystem::temp_directory_path(ec);
    if (ec) return fail(not_found("no temporary folder: " + ec.message()));
    path = temporary_name_for((dir / "studioflow-render-floor.mp4").string());
  } else if (Status s = check_output_path(path); !s.ok()) {
    return fail(s);
  }
  auto r = media::encode_floor(o, path);
  if (f.output.empty()) std::remove(path.c_str());
  if (!r.ok()) return fail(r.status());
  nlohmann::json j = {{"frames", r->frames},       {"seconds", r->seconds}, {"fps_encoded", r->fps_encoded},
                      {"width", o.width},          {"height", o.height},    {"fps", o.fps},
                      {"encoder", r->encoder},     {"preset", r->preset},   {"audio", o.audio}};
  std::printf("%s\n", dump_json(j).c_str());
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, std::vector<Command>& out) {
  CLI::App* bench = app.add_subcommand("bench", "built-in benchmarks (see bench/README.md)");
  bench->require_subcommand(1);

  auto f = std::make_shared<FloorFlags>();
  CLI::App* floor = bench->add_subcommand(
      "render-floor", "encode N synthetic frames with the renderer's encoder settings; prints JSON timings");
  floor->add_option("--frames", f->frames, "frames to encode")->required()->check(CLI::Range(1LL, 10000000LL));
  floor->add_option("--size", f->size, "WIDTHxHEIGHT")->capture_default_str();
  floor->add_option("--fps", f->fps, "frame rate")->capture_default_str()->check(CLI::Range(1.0, 240.0));
  floor->add_option("--encoder", f->encoder, "force a video encoder, as supercut --encoder");
  floor->add_flag("--cpu", f->cpu, "encode with libx264, as supercut --cpu");
  floor->add_flag("--no-audio", f->no_audio, "video only (by default the matching AAC audio is encoded too)");
  floor->add_option("-o,--output", f->output, "keep the MP4 here (default: a temporary file, removed)");
  out.push_back({floor, [f] { return run_render_floor(*f); }});
  register_bench_search(bench, out);
  register_bench_export(bench, out);
}

}  // namespace sf::cli
