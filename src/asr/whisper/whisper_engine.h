// The Whisper engine: our own Whisper inference (see DESIGN.md).
#pragma once

#include <memory>

#include "asr/engine.h"

namespace sf::asr::whisper {

// Loads the model named by options.model (a Hugging Face folder, a
// whisper.cpp ggml file, or a pulled model name) and returns an engine.
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options);

}  // namespace sf::asr::whisper
