#include "store/sqlite.h"

#include <sqlite3.h>

namespace sf::store::sqlite {

void DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void StmtFinalizer::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

namespace {

Code code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Code::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Code::kCorrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return Code::kPermission;
    case SQLITE_FULL:
    case SQLITE_IOERR: return Code::kOutput;
    default: return Code::kInternal;
  }
}

}  // namespace

Status Db::error(int rc, std::string_view what) const {
  std::string msg = db_ != nullptr ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      msg += " (the library file is damaged or not a studioflow library; it was left untouched)";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      msg += " (another process holds the library locked)";
      break;
    default: break;
  }
  return Status(code_for(rc), "library " + path_ + ": " + std::string(what) + ": " + msg);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, Mode mode, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kReadWriteCreate) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  auto db = std::make_unique<Db>(path, DbPtr(raw));
  if (rc != SQLITE_OK) return db->error(rc, "cannot open");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

Status Db::exec(std::string_view sql) {
  std::string s(sql);
  int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, "cannot run \"" + std::string(sql.substr(0, 60)) + "\"");
  return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return error(rc, "cannot prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  }
  return Stmt(this, StmtPtr(raw));
}

Result<std::optional<int64_t>> Db::query_int(std::string_view sql) {
  SF_ASSIGN_OR_RETURN(Stmt st, prepare(sql));
  SF_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row || st.col_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(st.col_int(0));
}

int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }

Stmt& Stmt::bind(int i, int64_t v) {
  int rc = sqlite3_bind_int64(stmt_.get(), i, v);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  int rc = sqlite3_bind_double(stmt_.get(), i, v);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text64(stmt_.get(), i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  int rc = sqlite3_bind_null(stmt_.get(), i);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_error_ != 0) return db_->error(bind_error_, "cannot bind a value");
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string sql = sqlite3_sql(stmt_.get()) != nullptr ? sqlite3_sql(stmt_.get()) : "";
  Status s = db_->error(rc, "cannot run \"" + sql.substr(0, 60) + "\"");
  sqlite3_reset(stmt_.get());
  return s;
}

Status Stmt::run() {
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return {};
  }
}

void Stmt::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_error_ = 0;
}

int64_t Stmt::col_int(int i) const { return sqlite3_column_int64(stmt_.get(), i); }
double Stmt::col_double(int i) const { return sqlite3_column_double(stmt_.get(), i); }
bool Stmt::col_null(int i) const { return sqlite3_column_type(stmt_.get(), i) == SQLITE_NULL; }

std::string Stmt::col_text(int i) const {
  const unsigned char* t = sqlite3_column_text(stmt_.get(), i);
  if (t == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), i)));
}

Result<std::unique_ptr<Transaction>> Transaction::begin(Db* db, Kind kind) {
  SF_RETURN_IF_ERROR(db->exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return std::make_unique<Transaction>(db);
}

Transaction::~Transaction() {
  if (!done_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  Status s = db_->exec("COMMIT");
  if (s.ok()) done_ = true;
  return s;
}

}  // namespace sf::store::sqlite
