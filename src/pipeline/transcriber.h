// Transcribing many inputs with a pool of engine instances.
//
// Each input's audio is streamed (media::AudioReader), split at silences
// (Segmenter) and queued; `workers` threads, each owning one Engine, take
// segments as they come, so decoding, segmentation and recognition overlap
// and memory stays bounded by the queue. Results are reassembled in
// (input, time) order whatever finishes first.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "asr/engine.h"
#include "core/status.h"

namespace sf::workers {
class WorkerPool;
}

namespace sf::pipeline {

struct InputTranscript {
  std::string path;
  double duration = 0;  // seconds of audio decoded
  asr::Transcript transcript;
};

struct TranscribeOptions {
  asr::EngineOptions engine;
  int workers = 0;  // engine instances; 0 = one per CPU core
  // Where the engines run. With `pool` (not owned; must outlive the call;
  // may be shared by several calls at once) segments go to its worker
  // processes and `workers` is ignored. Without it and with `processes`,
  // a pool is started for this call (workers::pool_options_from_env with
  // `workers` instances) and shut down at the end. Otherwise the engines
  // are threads in this process, one engine each.
  workers::WorkerPool* pool = nullptr;
  bool processes = false;
  double max_segment = 30.0;  // seconds
  // A job's stop flag, polled with the process-wide one (may be null; must
  // outlive the call).
  const std::atomic<bool>* cancel = nullptr;
  // Called from any thread whenever a segment is queued or finished, with
  // the segments finished and the segments cut so far (the second grows
  // while inputs are still being read). May be empty.
  std::function<void(int completed, int cut)> segment_progress;
  // Which segments go to the engine (a targeted pass over part of a file,
  // pipeline/library_targeted.h): called from any thread, once per segment
  // that holds sound, with the input's index and that sound's span in file
  // seconds [start, end); a segment it declines adds nothing to the
  // transcript (it counts as done for progress). Empty: every segment.
  std::function<bool(size_t input, double start, double end)> segment_wanted;
  // Called once per input, in input order, as soon as the input is read and
  // all of its segments are transcribed (later inputs may still be in the
  // works), with the input's index and its result exactly as it will be
  // returned. Calls come from the pipeline's threads, one at a time, and
  // the pipeline waits for each. None after an error; an exception thrown
  // by the callback becomes the error. May be empty.
  std::function<void(size_t input, const InputTranscript& result)> input_done;
};

// Called from any thread with the seconds of audio transcribed so far and
// the total (0 when unknown). May be empty.
using ProgressFn = std::function<void(double done, double total)>;

// Transcribes every input. The first error stops the work and is returned
// with the input's path in its message; no exception escapes (one thrown
// inside, std::bad_alloc included, becomes a kInternal error naming the
// input). A stop request (core/cancel.h) ends the work early with
// kCancelled. Each transcript is in time order whichever worker finished
// which segment first; word times are file times (media::AudioReader).
// Digital silence and quiet stretches never reach the engine. Memory is
// bounded by the queue (2 segments per worker) and the words found, not by
// the inputs' length. Call from one thread at a time.
Result<std::vector<InputTranscript>> transcribe_inputs(const std::vector<std::string>& paths,
                                                       const TranscribeOptions& options,
                                                       const ProgressFn& progress = {});

}  // namespace sf::pipeline
