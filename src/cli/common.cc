#include "cli/common.h"

#include <cstdio>

#include "cli/exit_codes.h"

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
  cmd->add_option("--beam-size", opts->engine.beam_size, "whisper: beam size (1 = greedy)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  cmd->add_option("--batch-size", opts->engine.batch_size, "whisper: chunks per batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--initial-prompt", opts->engine.initial_prompt, "whisper: text to condition on");
}

int fail(const Status& status) {
  std::fprintf(stderr, "studioflow: error: %s\n", status.message().c_str());
  return exit_code_for(status);
}

}  // namespace sf::cli
