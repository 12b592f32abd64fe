// The SQLite wrapper: the only header that includes <sqlite3.h>.
//
// A Db owns one connection (sqlite3_close_v2 on destruction); a Stmt owns
// one prepared statement (sqlite3_finalize). SQLite result codes become
// Status here and nowhere else: SQLITE_BUSY / SQLITE_LOCKED after the busy
// timeout -> kUnavailable, SQLITE_CORRUPT / SQLITE_NOTADB -> kCorrupt,
// SQLITE_CANTOPEN / SQLITE_READONLY / SQLITE_PERM -> kPermission, anything
// else -> kInternal. Every message names the database file.
//
// Thread-safety: a Db and its Stmts belong to one thread at a time (SQLite
// is built serialized, but our statements carry per-call state). Several
// processes may open the same file; SQLite's file locks keep them apart.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sf::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const;
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const;
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

class Db;

// One prepared statement. Bind indices start at 1, column indices at 0.
// Not copyable; movable.
class Stmt {
 public:
  Stmt(Db* db, StmtPtr stmt) : db_(db), stmt_(std::move(stmt)) {}
  Stmt(Stmt&&) = default;
  Stmt& operator=(Stmt&&) = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);  // copied by SQLite
  Stmt& bind_null(int i);

  // Advances: true when a row is ready, false when done. Bind errors are
  // reported here (the first one wins).
  Result<bool> step();
  // Steps until done (for statements without rows).
  Status run();
  // Rewinds for another execution with new bindings (bindings are cleared).
  void reset();

  int64_t col_int(int i) const;
  double col_double(int i) const;
  std::string col_text(int i) const;  // "" for NULL
  bool col_null(int i) const;

 private:
  Db* db_;
  StmtPtr stmt_;
  int bind_error_ = 0;
};

class Db {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite };

  // Opens (or, with kReadWriteCreate, creates) `path`, with extended result
  // codes and the given busy timeout. Opening does not read the file yet:
  // a corrupt file shows up on the first statement.
  static Result<std::unique_ptr<Db>> open(const std::string& path, Mode mode, int busy_timeout_ms);

  Db(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  const std::string& path() const { return path_; }

  // Runs one or more statements without results.
  Status exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  // The first column of the first row as an integer (e.g. a PRAGMA), or nullopt.
  Result<std::optional<int64_t>> query_int(std::string_view sql);
  int64_t last_insert_rowid() const;

  // The Status for SQLite result code `rc` with the connection's message,
  // prefixed by the file name and `what`.
  Status error(int rc, std::string_view what) const;

 private:
  std::string path_;
  DbPtr db_;
  friend class Stmt;
};

// RAII transaction: BEGIN IMMEDIATE (writers; takes the write lock now, so
// the busy timeout applies here and not at a later upgrade, which SQLite
// cannot retry) or BEGIN DEFERRED (readers). Rolls back unless commit()ed.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };
  static Result<std::unique_ptr<Transaction>> begin(Db* db, Kind kind);
  explicit Transaction(Db* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status commit();

 private:
  Db* db_;
  bool done_ = false;
};

}  // namespace sf::store::sqlite
