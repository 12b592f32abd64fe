// A task as the TaskManager holds it: shared by task_manager.cc and
// import_task.cc, private to server/. Every field is GUARDED_BY the
// manager's mu_ except `stop`.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/compilation.h"
#include "server/task_manager.h"

namespace sf::server {

struct TaskManager::Task {
  std::string id;
  nlohmann::json request;  // normalized
  nlohmann::json status;
  double created = 0;
  std::uint64_t version = 1;
  pipeline::CompilationJob* job = nullptr;  // while running
  bool user_cancel = false;
  bool compile_found = false;
  double last_saved = 0;
  // Import tasks: set while one runs; stop asks it to end (cancel, shutdown).
  bool importing = false;
  std::atomic<bool> stop{false};
};

}  // namespace sf::server
