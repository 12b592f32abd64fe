#include "cli/common.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <set>

#include "cli/exit_codes.h"
#include "core/files.h"
#include "media/probe.h"
#include "store/fingerprint.h"

namespace sf::cli {

void add_engine_flags(CLI::App* cmd, pipeline::TranscribeOptions* opts) {
  cmd->add_option("--engine", opts->engine.engine, "speech engine: sphinx | whisper")
      ->capture_default_str();
  cmd->add_option("--model", opts->engine.model,
                  "model: folder, ggml file or pulled name (whisper); model folder (sphinx)");
  cmd->add_option("--language", opts->engine.language, "spoken language (whisper; default: detect)");
  cmd->add_option("--task", opts->engine.task, "whisper: transcribe | translate")->capture_default_str();
  cmd->add_option("--threads", opts->engine.threads, "compute threads per engine instance")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--workers", opts->workers, "engine instances in parallel (0 = one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  // Engines run in worker processes (GPU_WORKER_PROCESSES of them) unless
  // asked to stay in this process.
  opts->processes = true;
  cmd->add_flag("--in-process", [opts](int64_t) { opts->processes = false; },
                "run the engines as threads of this process instead of worker processes (debugging)");
  cmd->add_option("--beam-size", opts->engine.beam_size, "whisper: beam size (1 = greedy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--batch-size", opts->engine.batch_size, "whisper: chunks per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--initial-prompt", opts->engine.initial_prompt, "whisper: text to condition on");
  cmd->add_option("--device", opts->engine.device, "whisper: auto | cpu | cuda | cuda:N")->capture_default_str();
  cmd->add_option("--compute-type", opts->engine.compute_type,
                  "whisper: auto | f32 | f16 | bf16 | int8 | int8_float16 (auto: the fastest the device does well)")
      ->capture_default_str();
}

void add_library_flags(CLI::App* cmd, pipeline::LibraryOptions* opts) {
  cmd->add_option("--library", opts->path,
                  "transcript library file (default: $STUDIOFLOW_LIBRARY, else ~/.local/share/studioflow/library.db)");
  cmd->add_flag("--no-library", [opts](int64_t) { opts->enabled = false; },
                "neither read nor write the transcript library");
}

Result<std::unique_ptr<store::Library>> open_existing_library(const pipeline::LibraryOptions& o) {
  SF_ASSIGN_OR_RETURN(std::string file, store::library_path(o.path));
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return not_found("library " + file + " does not exist yet: transcribe or supercut some media first");
  }
  return store::Library::open(file);
}

Result<int64_t> resolve_media(store::Library* lib, const std::string& arg) {
  SF_ASSIGN_OR_RETURN(auto id, lib->resolve(arg));
  if (id) return *id;
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    SF_ASSIGN_OR_RETURN(media::MediaInfo info, media::probe(arg));
    SF_ASSIGN_OR_RETURN(store::Fingerprint fp, store::fingerprint_file(arg, info.duration));
    SF_ASSIGN_OR_RETURN(auto by_content, lib->resolve(fp.hex));
    if (by_content) return *by_content;
    return not_found(arg + ": not in library " + lib->path() + " (its content was never transcribed)");
  }
  return not_found(arg + ": no such medium in library " + lib->path() + " (give an id from `library list` or a path)");
}

int fail(const Status& status) {
  std::fprintf(stderr, "studioflow: error: %s\n", status.message().c_str());
  return exit_code_for(status);
}

std::vector<std::string> output_names(const std::vector<std::string>& inputs, std::string_view extension) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::set<std::string> taken;
  names.reserve(inputs.size());
  for (const std::string& input : inputs) {
    const std::string stem = fs::path(input).filename().replace_extension().string();
    std::string name = stem + std::string(extension);
    for (int n = 2; taken.count(name) != 0; ++n) name = stem + "-" + std::to_string(n) + std::string(extension);
    taken.insert(name);
    names.push_back(std::move(name));
  }
  return names;
}

int run_guarded(std::string_view what, const std::function<int()>& body) {
  const int width = static_cast<int>(what.size());
  try {
    return body();
  } catch (const std::bad_alloc&) {
    // Nothing here allocates: memory is what ran out.
    remove_registered_temporaries();
    std::fprintf(stderr, "studioflow: error: out of memory while %.*s\n", width, what.data());
  } catch (const std::exception& e) {
    remove_registered_temporaries();
    std::fprintf(stderr, "studioflow: error: unexpected failure while %.*s: %s\n", width, what.data(),
                 e.what());
  } catch (...) {
    remove_registered_temporaries();
    std::fprintf(stderr, "studioflow: error: unexpected failure while %.*s\n", width, what.data());
  }
  return kExitError;
}

}  // namespace sf::cli
