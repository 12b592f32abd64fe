// The speech recognition engine interface.
//
// An Engine turns 16 kHz mono float audio into timed words. Engines are made
// by create_engine() from EngineOptions (--engine / --model). One Engine
// instance is NOT thread-safe: use one instance per thread. Instances made
// from the same options may share read-only weights internally.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "asr/transcript.h"
#include "core/status.h"

namespace sf::asr {

struct EngineOptions {
  std::string engine = "sphinx";  // "sphinx" | "whisper"
  std::string model;              // path or name; engine-specific default if empty
  std::string language;           // empty: engine default / auto-detect
  std::string task = "transcribe";  // whisper: "transcribe" | "translate"
  int threads = 1;                // compute threads inside one instance
  int beam_size = 1;              // whisper: 1 = greedy
  int batch_size = 1;             // whisper: chunks per batch
  std::string initial_prompt;     // whisper
  bool word_timestamps = true;
};

class Engine {
 public:
  virtual ~Engine() = default;
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Short name for reports and cache keys, e.g. "sphinx" or "whisper:base.en".
  virtual std::string name() const = 0;

  // Transcribes `audio` (16 kHz mono, [-1, 1]). Word and segment times are
  // `time_offset` + the position in `audio`, in seconds. Fillers, silences
  // and noise markers are not reported as words.
  virtual Result<Transcript> transcribe(std::span<const float> audio, double time_offset) = 0;
};

// Makes an engine. Errors: kInvalidArgument for an unknown engine name,
// kNotFound / kCorrupt / kUnsupported for model problems.
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options);

}  // namespace sf::asr
