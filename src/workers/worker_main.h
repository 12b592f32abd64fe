// The body of `studioflow worker`: one worker process of the pool.
//
// A worker serves one device (the CPU, or one GPU) with K engine instances,
// each on its own thread with its own decoding state; engines made from the
// same options share read-only weights where the engine supports it. It
// speaks workers/protocol.h: messages arrive on stdin, replies leave on the
// original stdout (fd 1 is then pointed at stderr, so nothing a library
// prints can corrupt the stream). Health requests are answered by the
// reading thread at once, even while every instance is busy.
//
// It ends: on "shutdown" (after finishing the segments it holds), at end of
// stdin (the parent closed its pipe or died), and when its parent dies
// (PR_SET_PDEATHSIG, and a check of the parent's pid at start), so no worker
// outlives the process that started it.
#pragma once

#include <string>

#include "asr/engine.h"

namespace sf::workers {

struct WorkerArgs {
  asr::EngineOptions engine;
  int instances = 1;
  std::string device = "cpu";  // "cpu" or "gpu:N"
  long parent_pid = 0;         // 0: do not check
  // Failure drills for the pool's tests: "" (none), "crash" (abort on every
  // segment), "stall" (take segments and never answer them; health still
  // answered), "crash-once" (abort on the first segment taken by any
  // worker: the first to create `fault_file` crashes, the others work).
  std::string fault;
  std::string fault_file;
};

// Engine options as one JSON argument and back (for the worker's argv).
std::string engine_options_to_json(const asr::EngineOptions& o);
Result<asr::EngineOptions> engine_options_from_json(const std::string& text);

// Runs the worker until it ends; returns the process exit code (0 after a
// shutdown or end of input, 3 when the engines cannot be made, 4 for a
// protocol error).
int run_worker(const WorkerArgs& args);

}  // namespace sf::workers
