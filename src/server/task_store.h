// Durable task status: the service's tasks in one SQLite file.
//
// Each task keeps its request (the JSON that was posted), its latest status
// (the seed's status fields as JSON) and a history of status changes (time,
// status, stage). Writes are transactions; the file is in WAL mode with a
// busy timeout, like the transcript library. A task that was "processing"
// when the server stopped is found again by unfinished() and resumed.
//
// Thread-safety: all members may be called from any thread (one connection,
// serialized by an internal mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sf::store::sqlite {
class Db;
}

namespace sf::server {

struct TaskRecord {
  std::string id;
  nlohmann::json request;  // as posted (validated)
  nlohmann::json status;   // the status fields; status["status"] is the state
  double created = 0;      // unix seconds
  double updated = 0;
};

struct TaskEvent {
  double time = 0;
  std::string status, stage;
};

class TaskStore {
 public:
  // Opens (creating) the store at `path`. kCorrupt for a file that is not a
  // task store, kUnsupported for one written by a newer version.
  static Result<std::unique_ptr<TaskStore>> open(const std::string& path);
  ~TaskStore();

  // Inserts or replaces the task; appends a history event when its status
  // or stage differs from the last one recorded.
  Status put(const TaskRecord& task);
  Result<std::optional<TaskRecord>> get(const std::string& id);
  // Newest first, at most `limit`.
  Result<std::vector<TaskRecord>> list(int limit);
  // Tasks whose status is "processing" or "queued", oldest first.
  Result<std::vector<TaskRecord>> unfinished();
  Result<std::vector<TaskEvent>> history(const std::string& id);
  // Finished tasks last updated before `before` (unix seconds).
  Result<std::vector<std::string>> expired(double before);
  Status remove(const std::string& id);

 private:
  explicit TaskStore(std::unique_ptr<store::sqlite::Db> db);
  std::mutex mu_;
  std::unique_ptr<store::sqlite::Db> db_;  // GUARDED_BY(mu_)
};

}  // namespace sf::server
