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
  // whisper: which backend runs the model: "auto" (CUDA where usable, else
  // the CPU), "cpu", "cuda", "cuda:N"; and in which number format: "auto",
  // "f32", "f16", "bf16", "int8", "int8_float16" (asr/whisper/backend.h).
  // whisper: words to listen for, put in every window's prompt
  // (faster-whisper's `hotwords`); supercuts set their targets here.
  // Changes the transcript, so it is part of its library key.
  std::string hotwords;
  std::string device = "auto";
  std::string compute_type = "auto";
  bool word_timestamps = true;
  // Targeted search: words or phrases to look for specifically, besides
  // the one-best transcript (supercuts know what they look for). Each is
  // normalized tokens joined by one space ("europe", "well known"). The
  // engine reports where it hears them in Transcript::hits; engines that
  // cannot search ignore them. Not part of the transcript's library key:
  // the one-best words do not depend on them.
  std::vector<std::string> target_words;
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

  // Replaces the targets of later transcribe() calls (see
  // EngineOptions::target_words; empty: none). Cheap when `targets` equals
  // the current ones. Targets the engine cannot search for (a word it
  // cannot pronounce) are left out with a warning naming them, once per
  // engine; that is not an error. Errors: the engine's search could not be
  // set up (the engine then searches for no targets). The default ignores
  // targets.
  virtual Status set_targets(const std::vector<std::string>& targets) {
    (void)targets;
    return {};
  }
};

// Makes an engine. Errors: kInvalidArgument for an unknown engine name,
// kNotFound / kCorrupt / kUnsupported for model problems.
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options);

}  // namespace sf::asr
