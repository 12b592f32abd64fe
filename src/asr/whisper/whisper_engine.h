// The Whisper engine: our own Whisper inference (see DESIGN.md).
#pragma once

#include <memory>
#include <vector>

#include "asr/engine.h"

namespace sf::asr::whisper {

// Loads the model named by options.model (a Hugging Face folder, a
// whisper.cpp ggml file, or a pulled model name) and returns an engine.
//
// Engines made with the same model path share one loaded Model and
// tokenizer (a process-wide cache that holds them while any engine does);
// each engine has its own Session (KV caches, buffers), so different
// engines may run on different threads. One engine is not thread-safe.
//
// With batch_size > 1 the audio is cut at silences (energy VAD) into chunks
// of at most 30 s, decoded batch_size at a time, without conditioning on
// earlier text; otherwise Whisper's sequential long-form decoding is used.
// Errors: kNotFound (model not found: every place tried is named),
// kCorrupt / kUnsupported (model files), kInvalidArgument (language, task,
// thread, beam or batch values).
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options);

// Decoding settings that EngineOptions does not carry (Whisper's defaults
// when left empty / zero).
struct EngineTuning {
  std::vector<float> temperatures;  // fallback ladder; default 0, 0.2, ..., 1.0
  int sample_len = 0;               // most tokens per window; default n_text_ctx / 2
};
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options, const EngineTuning& tuning);

// How many distinct models the process holds right now (engines over the
// same model file count once). Thread-safe.
int loaded_model_count();

}  // namespace sf::asr::whisper
