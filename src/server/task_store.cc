#include "server/task_store.h"

#include <chrono>
#include <filesystem>

#include "core/json.h"
#include "store/sqlite.h"

namespace sf::server {
namespace {

using store::sqlite::Db;
using store::sqlite::Stmt;
using store::sqlite::Transaction;

constexpr int kSchemaVersion = 1;
constexpr int64_t kApplicationId = 0x53467453;  // "SFtS"
constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kSchema = R"sql(
CREATE TABLE tasks(
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  status TEXT NOT NULL,
  created REAL NOT NULL,
  updated REAL NOT NULL);
CREATE INDEX tasks_state ON tasks(state);
CREATE TABLE task_events(
  task TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  time REAL NOT NULL,
  state TEXT NOT NULL,
  stage TEXT NOT NULL);
CREATE INDEX task_events_task ON task_events(task, time);
)sql";

Result<TaskRecord> row(const Stmt& s) {
  TaskRecord t;
  t.id = s.col_text(0);
  t.request = nlohmann::json::parse(s.col_text(1), nullptr, false);
  t.status = nlohmann::json::parse(s.col_text(2), nullptr, false);
  t.created = s.col_double(3);
  t.updated = s.col_double(4);
  if (t.request.is_discarded() || t.status.is_discarded()) return corrupt("task " + t.id + ": stored JSON is damaged");
  return t;
}

// Every row of a statement selecting (id, request, status, created, updated).
Result<std::vector<TaskRecord>> rows(Stmt& s) {
  std::vector<TaskRecord> out;
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool has, s.step());
    if (!has) break;
    SF_ASSIGN_OR_RETURN(TaskRecord t, row(s));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

TaskStore::TaskStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
TaskStore::~TaskStore() = default;

Result<std::unique_ptr<TaskStore>> TaskStore::open(const std::string& path) {
  SF_ASSIGN_OR_RETURN(auto db, Db::open(path, Db::Mode::kReadWriteCreate, kBusyTimeoutMs));
  SF_ASSIGN_OR_RETURN(auto version, db->query_int("PRAGMA user_version"));
  if (version.value_or(0) > kSchemaVersion) {
    return unsupported("task store " + path + ": written by a newer studioflow (schema " +
                       std::to_string(*version) + "); left untouched");
  }
  SF_ASSIGN_OR_RETURN(auto app, db->query_int("PRAGMA application_id"));
  if (version.value_or(0) == 0) {
    SF_ASSIGN_OR_RETURN(auto tables, db->query_int("SELECT count(*) FROM sqlite_master"));
    if (tables.value_or(0) != 0) return corrupt("task store " + path + ": is not a studioflow task store; left untouched");
  } else if (app.value_or(0) != kApplicationId) {
    return corrupt("task store " + path + ": is not a studioflow task store; left untouched");
  }
  SF_RETURN_IF_ERROR(db->exec("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL"));
  if (version.value_or(0) == 0) {
    SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db.get(), Transaction::Kind::kWrite));
    SF_RETURN_IF_ERROR(db->exec(kSchema));
    SF_RETURN_IF_ERROR(db->exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    SF_RETURN_IF_ERROR(db->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion)));
    SF_RETURN_IF_ERROR(tx->commit());
  }
  return std::unique_ptr<TaskStore>(new TaskStore(std::move(db)));
}

Status TaskStore::put(const TaskRecord& t) {
  std::lock_guard lock(mu_);
  const std::string state = t.status.value("status", std::string("queued"));
  const std::string stage = t.status.value("stage", std::string());
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  {
    SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare(
                                    "INSERT INTO tasks(id, state, request, status, created, updated) "
                                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
                                    "state = excluded.state, request = excluded.request, status = excluded.status, "
                                    "updated = excluded.updated"));
    s.bind(1, t.id).bind(2, state).bind(3, dump_json(t.request)).bind(4, dump_json(t.status)).bind(5, t.created).bind(
        6, t.updated);
    SF_RETURN_IF_ERROR(s.run());
  }
  {
    SF_ASSIGN_OR_RETURN(Stmt last,
                        db_->prepare("SELECT state, stage FROM task_events WHERE task = ?1 ORDER BY rowid DESC LIMIT 1"));
    last.bind(1, t.id);
    SF_ASSIGN_OR_RETURN(bool has, last.step());
    if (!has || last.col_text(0) != state || last.col_text(1) != stage) {
      SF_ASSIGN_OR_RETURN(Stmt ev, db_->prepare("INSERT INTO task_events(task, time, state, stage) VALUES(?1, ?2, ?3, ?4)"));
      ev.bind(1, t.id).bind(2, t.updated).bind(3, state).bind(4, stage);
      SF_RETURN_IF_ERROR(ev.run());
    }
  }
  return tx->commit();
}

Result<std::optional<TaskRecord>> TaskStore::get(const std::string& id) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("SELECT id, request, status, created, updated FROM tasks WHERE id = ?1"));
  s.bind(1, id);
  SF_ASSIGN_OR_RETURN(bool has, s.step());
  if (!has) return std::optional<TaskRecord>();
  SF_ASSIGN_OR_RETURN(TaskRecord t, row(s));
  return std::optional<TaskRecord>(std::move(t));
}

Result<std::vector<TaskRecord>> TaskStore::list(int limit) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("SELECT id, request, status, created, updated FROM tasks "
                                           "ORDER BY created DESC, rowid DESC LIMIT ?1"));
  s.bind(1, limit);
  return rows(s);
}

Result<std::vector<TaskRecord>> TaskStore::unfinished() {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("SELECT id, request, status, created, updated FROM tasks "
                                           "WHERE state IN ('processing', 'queued') ORDER BY created, rowid"));
  return rows(s);
}

Result<std::vector<TaskEvent>> TaskStore::history(const std::string& id) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("SELECT time, state, stage FROM task_events WHERE task = ?1 ORDER BY rowid"));
  s.bind(1, id);
  std::vector<TaskEvent> out;
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool has, s.step());
    if (!has) break;
    out.push_back({s.col_double(0), s.col_text(1), s.col_text(2)});
  }
  return out;
}

Result<std::vector<std::string>> TaskStore::expired(double before) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("SELECT id FROM tasks WHERE state NOT IN ('processing', 'queued') "
                                           "AND updated < ?1"));
  s.bind(1, before);
  std::vector<std::string> out;
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool has, s.step());
    if (!has) break;
    out.push_back(s.col_text(0));
  }
  return out;
}

Status TaskStore::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  {
    SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("DELETE FROM task_events WHERE task = ?1"));
    s.bind(1, id);
    SF_RETURN_IF_ERROR(s.run());
  }
  {
    SF_ASSIGN_OR_RETURN(Stmt s, db_->prepare("DELETE FROM tasks WHERE id = ?1"));
    s.bind(1, id);
    SF_RETURN_IF_ERROR(s.run());
  }
  return tx->commit();
}

}  // namespace sf::server
