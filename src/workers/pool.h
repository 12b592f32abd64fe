// The worker pool: persistent worker processes and their supervisor.
//
// A pool starts worker processes (`studioflow worker`, see worker_main.h),
// each serving one device with several engine instances, and hands them
// segments of audio: transcribe() may be called from many threads at once
// (many jobs may share one pool) and blocks until that segment's transcript
// is back. Each segment goes to the least-loaded worker that is ready.
//
// Failures are the pool's business, not the caller's:
//  - a worker that exits or is killed has its segments sent again to
//    another worker (at most `max_attempts` tries per segment), and it is
//    restarted, at most `restart_threshold` times per slot before that slot
//    is given up;
//  - a worker is sent a health request every `health_interval` seconds; one
//    that has not answered when the next is due is unhealthy and is killed
//    (then handled as above);
//  - a segment that has been with one worker longer than `segment_timeout`
//    gets that worker killed and is tried again elsewhere.
// An engine's own error (bad model input) is not retried: it is the
// segment's result. A segment is never reported twice nor partially.
//
// The state machine of one worker process (WorkerState):
//
//   kStarting --hello+ready--> kReady <--last segment back-- kBusy
//       |                        |  \---segment sent------>   |
//       |                        |                            |
//       +---exit/fatal-----------+-- health missed --> kUnhealthy (killed)
//                                |                            |
//                          shutdown() -> kStopping            v
//                                         \-----exit------> kDead
//   kDead --restart (if restarts left)--> kStarting of a new process in
//   the same slot.
//
// Worker processes never outlive the pool: destroying the pool shuts them
// down (SIGKILL after a grace period), and each dies with its parent
// process. All spawning happens on the pool's own supervisor thread (a
// child's death signal is tied to the thread that started it).
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "asr/engine.h"
#include "asr/transcript.h"
#include "core/status.h"

namespace sf::workers {

enum class WorkerState { kStarting, kReady, kBusy, kUnhealthy, kStopping, kDead };
std::string_view state_name(WorkerState s);

// One worker process to run: its device and engine instances.
struct WorkerSlotSpec {
  int gpu = -1;        // -1: the CPU
  int instances = 1;   // engine instances inside the process
};

struct PoolOptions {
  asr::EngineOptions engine;
  std::vector<WorkerSlotSpec> workers;  // one entry per worker process; must not be empty
  std::string program;                  // the studioflow binary; empty: this process's own (/proc/self/exe)
  double health_interval = 30;          // WORKER_HEALTH_CHECK_INTERVAL, seconds
  int restart_threshold = 5;            // PROCESS_RESTART_THRESHOLD, restarts per slot
  double segment_timeout = 300;         // TRANSCRIPTION_TIMEOUT, seconds per segment
  int max_attempts = 3;                 // tries of one segment before it fails
  double start_timeout = 300;           // seconds for a worker to load its engines
  std::vector<std::string> extra_args;  // appended to each worker's argv (failure drills in tests)
};

// Options from the environment: the worker processes planned by
// gpu::plan_cpu_workers (GPU_WORKER_PROCESSES of them, or 2 as the seed;
// never more processes than instances), WORKER_HEALTH_CHECK_INTERVAL,
// PROCESS_RESTART_THRESHOLD, TRANSCRIPTION_TIMEOUT; `instances` engine
// instances in all (0: one per CPU core).
PoolOptions pool_options_from_env(const asr::EngineOptions& engine, int instances);

struct WorkerInfo {
  int slot = 0;
  pid_t pid = 0;
  int gpu = -1;
  int instances = 0;
  WorkerState state = WorkerState::kStarting;
  int in_flight = 0;       // segments sent and not yet answered
  long completed = 0;      // segments answered by this process
  int restarts = 0;        // processes started in this slot after the first
};

// The pool's state, with the seed's status fields (to_json()).
struct PoolStatus {
  int total = 0;             // worker slots
  int healthy = 0;           // workers ready or busy
  int restarted = 0;         // restarts over the pool's life
  double last_health_check = 0;  // unix seconds; 0 = none yet
  int active = 0;            // segments being transcribed
  long completed = 0;        // segments finished
  int queued = 0;            // segments waiting for a worker
  std::vector<WorkerInfo> workers;
  // {"worker_processes": {total, healthy, restarted, last_health_check (ISO 8601 UTC)},
  //  "models_per_gpu": {"cpu"|"<gpu>": instances}, "pipeline_stages": {"transcription":
  //  {active, completed, queued}}, "workers": [{slot, pid, device, instances, state, ...}]}
  nlohmann::json to_json() const;
};

class WorkerPool {
 public:
  // Starts every worker and waits until each is ready. Errors: the first
  // worker's fatal error as it reported it (e.g. kNotFound for a missing
  // model), kUnavailable when a worker cannot be started or does not become
  // ready within start_timeout, kInvalidArgument for empty options.
  static Result<std::unique_ptr<WorkerPool>> start(const PoolOptions& options);
  ~WorkerPool();  // shuts the workers down
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Transcribes one segment (16 kHz mono, times offset by `time_offset`),
  // blocking until it is done. `cancel` (may be null) and the process-wide
  // stop are polled: a stop returns kCancelled and the segment's answer, if
  // it comes, is dropped. `targets` (asr::EngineOptions::target_words)
  // travel with the segment: the worker's engine searches for them (and its
  // transcript carries the hits). Errors: the engine's error for this segment;
  // kUnavailable when the segment failed on max_attempts workers, or every
  // worker slot has been given up.
  Result<asr::Transcript> transcribe(std::span<const float> audio, double time_offset,
                                     const std::atomic<bool>* cancel = nullptr,
                                     const std::vector<std::string>& targets = {});

  // Segments the pool can work on at once (instances, plus one queued
  // ahead per worker so no instance waits for the pipe): the number of
  // caller threads that keeps it busy.
  int capacity() const;

  PoolStatus status() const;
  const PoolOptions& options() const;

 private:
  struct Impl;
  explicit WorkerPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sf::workers
