#include <filesystem>
#include <iostream>
#include <memory>

#include "asr/formats.h"
#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "cli/progress.h"
#include "core/files.h"
#include "core/log.h"
#include "pipeline/resolve.h"

namespace sf::cli {
namespace {

struct TranscribeFlags {
  std::vector<std::string> inputs;
  std::string format = "json";
  std::string out_dir;
  pipeline::TranscribeOptions opts;
  pipeline::LibraryOptions library;
};

int run_transcribe(const TranscribeFlags& f) {
  auto format = asr::parse_transcript_format(f.format);
  if (!format.ok()) return fail(format.status());
  namespace fs = std::filesystem;
  std::vector<std::string> outputs;
  if (!f.out_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(f.out_dir, ec)) {
      return fail(not_found("output folder " + f.out_dir + " does not exist"));
    }
    Status s = check_output_path((fs::path(f.out_dir) / "x").string());
    if (!s.ok()) return fail(s);
    for (const std::string& name : output_names(f.inputs, asr::extension(*format))) {
      outputs.push_back((fs::path(f.out_dir) / name).string());
      if (Status in = check_not_an_input(outputs.back(), f.inputs); !in.ok()) return fail(in);
    }
  }
  Progress progress("transcribe", log::current_level() <= log::Level::kInfo);
  auto resolved = pipeline::resolve_inputs(f.inputs);
  if (!resolved.ok()) return fail(resolved.status());
  for (const auto& e : resolved->errors) SF_LOG_WARN("input left out: {}", e.status.message());
  auto result = pipeline::transcribe_with_library(pipeline::locations(resolved->inputs), f.opts, f.library,
                                                  [&](double d, double t) { progress.update(d, t); });
  progress.finish();
  if (!result.ok()) return fail(result.status());
  for (std::size_t i = 0; i < result->size(); ++i) {
    const pipeline::InputTranscript& it = (*result)[i];
    nlohmann::json extra = {{"input", it.path}, {"duration", it.duration},
                            {"engine", f.opts.engine.engine}};
    std::string text = asr::render(it.transcript, *format, extra);
    if (f.out_dir.empty()) {
      std::cout << text;
      continue;
    }
    Status s = write_file_atomic(outputs[i], text);
    if (!s.ok()) return fail(s);
    SF_LOG_INFO("wrote {}", outputs[i]);
  }
  return kExitOk;
}

}  // namespace

void register_transcribe(CLI::App& app, std::vector<Command>& out) {
  auto flags = std::make_shared<TranscribeFlags>();
  CLI::App* cmd = app.add_subcommand("transcribe", "word-timed transcripts of media files");
  cmd->add_option("-i,--input", flags->inputs, "input media files, http(s) URLs, playlists (.m3u, .m3u8) or pages")->required();
  cmd->add_option("--format", flags->format, "json | srt | vtt | txt")->capture_default_str();
  cmd->add_option("-o,--out-dir", flags->out_dir, "write <input name>.<format> files here (default: stdout); inputs with the same name get -2, -3, ...");
  add_engine_flags(cmd, &flags->opts);
  add_library_flags(cmd, &flags->library);
  out.push_back({cmd, [flags] { return run_transcribe(*flags); }});
}

}  // namespace sf::cli
