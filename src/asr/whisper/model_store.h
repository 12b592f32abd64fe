// Where Whisper models live on disk, and fetching them from the Hugging Face
// hub.
//
// A --model value is resolved, in order, as: an existing folder (Hugging
// Face layout), an existing file (whisper.cpp ggml), or the name of a model
// already pulled into the models folder ($XDG_CACHE_HOME/studioflow/models,
// or ~/.cache/studioflow/models). Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <string>

#include "core/status.h"

namespace sf::asr::whisper {

// $XDG_CACHE_HOME/studioflow/models, else $HOME/.cache/studioflow/models.
std::filesystem::path default_models_dir();

// Resolves a --model value to a path. Errors: kNotFound naming every place
// that was tried.
Result<std::string> resolve_model(const std::string& value);

struct PullOptions {
  std::string endpoint;         // empty: $HF_ENDPOINT, else https://huggingface.co
  int connect_timeout_s = 5;
  int read_timeout_s = 60;
};

// Downloads openai/whisper-NAME (config, generation config, weights,
// tokenizer files) into `dir` (empty: default_models_dir()/NAME). Files are
// written into a hidden temporary folder beside `dir`, which is renamed to
// `dir` only when every required file arrived and removed otherwise.
// Returns the folder. Errors: kInvalidArgument (bad name), kUnavailable (no
// network / hub unreachable), kNotFound (no such model on the hub),
// kPermission (cannot write).
Result<std::filesystem::path> pull_model(const std::string& name, const std::filesystem::path& dir,
                                         const PullOptions& options = {});

}  // namespace sf::asr::whisper
