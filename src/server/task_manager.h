// The service's tasks: validation of compilation requests, a bounded queue,
// a few running jobs at once on one shared worker pool, live status with the
// seed's fields, and durable state (server/task_store.h) that survives a
// crash: unfinished tasks are resumed at start, and inputs already
// transcribed come from the transcript library instead of the engines.
//
// Status of a task: "queued" → "processing" → "completed" | "error" |
// "cancelled". "No target words found in any video" is a completed task
// with that error (the seed's rule). A task's output appears only when it
// is complete (the renderer writes a temporary file and renames it).
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "asr/engine.h"
#include "core/status.h"
#include "export/timeline.h"
#include "server/task_store.h"

namespace sf::workers {
class WorkerPool;
}

namespace sf::server {

struct ServiceOptions {
  std::string data_dir;                  // tasks.db, outputs/, library.db (unless library_path)
  std::string library_path;              // transcript library; empty: <data_dir>/library.db
  std::vector<std::string> media_roots;  // local paths allowed only under these folders
  int max_running = 2;                   // compilations at once
  int max_queued = 32;                   // waiting tasks beyond which submit() answers "busy"
  double retention_seconds = 7 * 24 * 3600.0;  // finished tasks and their files are removed after
  double checkpoint_interval = 2;        // seconds between status writes while running
  asr::EngineOptions engine;             // defaults for requests that name none
  workers::WorkerPool* pool = nullptr;   // shared by every task (not owned); null: in-process engines
};

// Why submit() refused: kInvalidArgument (400: the message names the field),
// kUnavailable (429/503: queue full or shutting down).
class TaskManager {
 public:
  static Result<std::unique_ptr<TaskManager>> open(ServiceOptions options);
  ~TaskManager();  // = shutdown()

  // Validates a /create_compilation body and queues the task. Returns
  // {task_id, video_title, total_videos, gpu_count, status}.
  Result<nlohmann::json> submit(const nlohmann::json& body);
  // Validates a POST /import body and queues the import (import/import.h):
  // {"sources": [paths under a --media-root], "project": folder under a
  // --media-root (default: <data_dir>/imports/<task_id>), "normalize",
  // "proxy", "transcript" (booleans, default true), "loudness" (LUFS),
  // "true_peak" (dBTP), "proxy_size"}. Returns {task_id, status, project}.
  // Status like a compilation's: status, stage ("importing"), progress per
  // product, and the import report when done. Resumed after a restart like
  // every task (the import's manifest keeps what was finished).
  Result<nlohmann::json> submit_import(const nlohmann::json& body);
  // The status fields of a task, or nullopt for an unknown id.
  std::optional<nlohmann::json> status(const std::string& id);
  // Status changes of a task (time, status, stage), oldest first.
  Result<nlohmann::json> history(const std::string& id);
  // Newest first: {task_id, status, stage, created, video_title, ...}.
  nlohmann::json list(int limit = 100);
  // Stops a task. compile_found: stop transcribing and compile what was
  // found so far (the seed's early_termination); otherwise cancel outright.
  // kNotFound for an unknown id; kInvalidArgument when it already finished.
  Result<nlohmann::json> cancel(const std::string& id, bool compile_found);
  // The finished output of a completed task; nullopt otherwise.
  std::optional<std::string> output_file(const std::string& id);
  // The finished export of a completed task in `format` (the request's
  // "exports" asked for it; the status lists it under "exports"); nullopt
  // otherwise.
  std::optional<std::string> export_file(const std::string& id, exports::Format format);
  // Blocks until the task's status changes after `version` or `timeout`
  // seconds pass; returns the current version (0: unknown task).
  std::uint64_t wait_for_change(const std::string& id, std::uint64_t version, double timeout);
  std::uint64_t version(const std::string& id);

  struct Counts {
    int queued = 0, processing = 0, completed = 0, error = 0, cancelled = 0;
    long segments_transcribed = 0;
    double audio_seconds = 0;
  };
  Counts counts();
  bool accepting() const { return !stopping_.load(); }
  // The options the service was opened with (library_path filled in).
  const ServiceOptions& options() const { return options_; }

  // Stops taking tasks; running ones are interrupted and stay "processing"
  // in the store, to be resumed by the next open(). Idempotent.
  void shutdown();

  // True for a task id this service could have made (32 lowercase hex).
  static bool valid_id(const std::string& id);

 private:
  struct Task;
  explicit TaskManager(ServiceOptions options);
  void run_loop();
  void run_task(const std::shared_ptr<Task>& task);
  void run_import_task(const std::shared_ptr<Task>& task);  // server/import_task.cc
  Status check_media_path(const std::string& path, bool folder_ok) const;
  void save(Task& task, bool force);
  void expire();
  std::shared_ptr<Task> find(const std::string& id);
  // Where a task's export in `format` is written: outputs/<id><extension>.
  std::string export_path(const std::string& id, exports::Format format) const;

  ServiceOptions options_;
  std::unique_ptr<TaskStore> store_;
  std::mutex mu_;
  std::condition_variable cv_;  // queue changes and status changes
  std::map<std::string, std::shared_ptr<Task>> tasks_;  // GUARDED_BY(mu_)
  std::deque<std::string> queue_;                       // GUARDED_BY(mu_)
  std::vector<std::thread> runners_;
  std::thread janitor_;
  std::atomic<bool> stopping_{false};
  long segments_transcribed_ = 0;  // GUARDED_BY(mu_)
  double audio_seconds_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace sf::server
