#include "store/library.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "asr/formats.h"
#include "core/config.h"
#include "core/log.h"
#include "search/matcher.h"
#include "search/normalize.h"
#include "store/sqlite.h"

namespace sf::store {
namespace {

using sqlite::Db;
using sqlite::Stmt;
using sqlite::Transaction;

// "SFlb": marks the file as a studioflow library.
constexpr int64_t kApplicationId = 0x53466c62;
constexpr int kBusyTimeoutMs = 10000;

constexpr const char* kSchema1 = R"sql(
CREATE TABLE media(
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  duration REAL NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  added REAL NOT NULL);
CREATE TABLE media_paths(
  media INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  seen REAL NOT NULL,
  PRIMARY KEY(media, path)) WITHOUT ROWID;
CREATE INDEX media_paths_path ON media_paths(path);
CREATE TABLE transcripts(
  id INTEGER PRIMARY KEY,
  media INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
  engine TEXT NOT NULL,
  model TEXT NOT NULL,
  options TEXT NOT NULL,
  language TEXT NOT NULL,
  duration REAL NOT NULL,
  words INTEGER NOT NULL,
  created REAL NOT NULL,
  UNIQUE(media, engine, model, options));
CREATE TABLE segments(
  id INTEGER PRIMARY KEY,
  transcript INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  start REAL NOT NULL,
  end REAL NOT NULL,
  first_word INTEGER NOT NULL,
  word_count INTEGER NOT NULL);
CREATE INDEX segments_transcript ON segments(transcript, position);
CREATE TABLE words(
  transcript INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  text TEXT NOT NULL,
  norm TEXT NOT NULL,
  start REAL NOT NULL,
  end REAL NOT NULL,
  prob REAL NOT NULL,
  PRIMARY KEY(transcript, position)) WITHOUT ROWID;
CREATE INDEX words_norm ON words(norm);
)sql";

// Schema 2: a full-text index over each segment's normalized tokens, for
// phrase and prefix queries without scanning words.
constexpr const char* kSchema2 = R"sql(
ALTER TABLE segments ADD COLUMN norm TEXT NOT NULL DEFAULT '';
CREATE VIRTUAL TABLE segments_fts USING fts5(
  norm, content='segments', content_rowid='id',
  tokenize="unicode61 remove_diacritics 0 tokenchars '''.,-'");
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
  INSERT INTO segments_fts(rowid, norm) VALUES (new.id, new.norm);
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
  INSERT INTO segments_fts(segments_fts, rowid, norm) VALUES ('delete', old.id, old.norm);
END;
)sql";

// Schema 3: targeted-search hits per transcript and set of target phrases.
constexpr const char* kSchema3 = R"sql(
CREATE TABLE target_hits(
  transcript INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
  targets TEXT NOT NULL,  -- {"pass": version, "targets": [sorted phrases]}
  hits TEXT NOT NULL,
  created REAL NOT NULL,
  PRIMARY KEY(transcript, targets)) WITHOUT ROWID;
)sql";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The normalized tokens of a run of words, space-separated: what the FTS
// index holds for a segment.
std::string norm_tokens(const std::vector<asr::Word>& words) {
  std::string out;
  for (const auto& w : words) {
    for (const auto& t : search::tokenize(w.text)) {
      if (!out.empty()) out += ' ';
      out += t;
    }
  }
  return out;
}

// Fills segments.norm from the stored words (schema 1 -> 2).
Status backfill_segment_norms(Db* db) {
  SF_ASSIGN_OR_RETURN(Stmt segs, db->prepare("SELECT id, transcript, first_word, word_count FROM segments"));
  SF_ASSIGN_OR_RETURN(Stmt words, db->prepare(
      "SELECT text FROM words WHERE transcript = ?1 AND position >= ?2 AND position < ?3 ORDER BY position"));
  SF_ASSIGN_OR_RETURN(Stmt upd, db->prepare("UPDATE segments SET norm = ?1 WHERE id = ?2"));
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool row, segs.step());
    if (!row) break;
    const int64_t first = segs.col_int(2);
    words.reset();
    words.bind(1, segs.col_int(1)).bind(2, first).bind(3, first + segs.col_int(3));
    std::vector<asr::Word> ws;
    for (;;) {
      SF_ASSIGN_OR_RETURN(bool wr, words.step());
      if (!wr) break;
      ws.push_back({words.col_text(0), 0, 0, 1});
    }
    upd.reset();
    upd.bind(1, norm_tokens(ws)).bind(2, segs.col_int(0));
    SF_RETURN_IF_ERROR(upd.run());
  }
  return {};
}

Status migrate(Db* db) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db, Transaction::Kind::kWrite));
  // Read again under the write lock: another process may have created or
  // migrated the file since we looked.
  SF_ASSIGN_OR_RETURN(auto version, db->query_int("PRAGMA user_version"));
  SF_ASSIGN_OR_RETURN(auto app, db->query_int("PRAGMA application_id"));
  int64_t v = version.value_or(0);
  if (v == kSchemaVersion) return tx->commit();
  if (v == 0) {
    SF_ASSIGN_OR_RETURN(auto tables, db->query_int("SELECT count(*) FROM sqlite_master"));
    if (tables.value_or(0) != 0 || app.value_or(0) != 0) {
      return corrupt("library " + db->path() +
                     ": is an SQLite file of another application, not a studioflow library; it was left "
                     "untouched (choose another file with --library)");
    }
    SF_RETURN_IF_ERROR(db->exec(kSchema1));
    SF_RETURN_IF_ERROR(db->exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
    v = 1;
  }
  if (v == 1) {
    SF_LOG_INFO("library {}: upgrading schema 1 -> 2 (full-text index)", db->path());
    SF_RETURN_IF_ERROR(db->exec(kSchema2));
    SF_RETURN_IF_ERROR(backfill_segment_norms(db));
    SF_RETURN_IF_ERROR(db->exec("INSERT INTO segments_fts(segments_fts) VALUES ('rebuild')"));
    v = 2;
  }
  if (v == 2) {
    SF_RETURN_IF_ERROR(db->exec(kSchema3));
    v = 3;
  }
  SF_RETURN_IF_ERROR(db->exec("PRAGMA user_version = " + std::to_string(v)));
  return tx->commit();
}

// FTS5 query for one phrase: its tokens as one phrase ("a" + "b"), each
// token a prefix ("a"* + "b"*) in prefix mode. Tokens are quoted, so no
// token is read as FTS syntax.
std::string fts_expression(const std::vector<std::string>& tokens, QueryMode mode) {
  std::string q;
  for (const auto& t : tokens) {
    if (!q.empty()) q += " + ";
    q += '"';
    for (char c : t) {
      if (c == '"') q += '"';
      q += c;
    }
    q += '"';
    if (mode == QueryMode::kPrefix) q += '*';
  }
  return q;
}

}  // namespace

Result<std::string> library_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  std::string env = config::env("STUDIOFLOW_LIBRARY");
  if (!env.empty()) return env;
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && *xdg == '/') return std::string(xdg) + "/studioflow/library.db";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return not_found("no library file: HOME is not set; pass --library PATH or set STUDIOFLOW_LIBRARY");
  }
  return std::string(home) + "/.local/share/studioflow/library.db";
}

Library::Library(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
Library::~Library() = default;

const std::string& Library::path() const { return db_->path(); }

Result<std::unique_ptr<Library>> Library::open(const std::string& path, bool create_folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  if (create_folder) fs::create_directories(folder, ec);
  if (!fs::is_directory(folder, ec)) {
    return not_found("library " + path + ": folder " + folder.string() + " does not exist");
  }
  if (fs::is_directory(path, ec)) return invalid_argument("library " + path + ": is a folder, not a file");
  SF_ASSIGN_OR_RETURN(auto db, Db::open(path, Db::Mode::kReadWriteCreate, kBusyTimeoutMs));

  // Read the header before anything writes: a damaged or foreign file is
  // reported here and never touched. The three reads are one snapshot:
  // another process creating the library in between (tables there, its
  // version not yet read) must not look like a foreign file.
  int64_t version = 0, app = 0, tables = 0;
  {
    SF_ASSIGN_OR_RETURN(auto read, Transaction::begin(db.get(), Transaction::Kind::kRead));
    SF_ASSIGN_OR_RETURN(auto v, db->query_int("PRAGMA user_version"));
    SF_ASSIGN_OR_RETURN(auto a, db->query_int("PRAGMA application_id"));
    SF_ASSIGN_OR_RETURN(auto t, db->query_int("SELECT count(*) FROM sqlite_master"));
    SF_RETURN_IF_ERROR(read->commit());
    version = v.value_or(0);
    app = a.value_or(0);
    tables = t.value_or(0);
  }
  if (version > kSchemaVersion) {
    return unsupported("library " + path + ": has schema version " + std::to_string(version) +
                       ", newer than this studioflow knows (" + std::to_string(kSchemaVersion) +
                       "); it was left untouched: use a newer studioflow or another --library");
  }
  if ((app != 0 && app != kApplicationId) || (version == 0 && tables != 0)) {
    return corrupt("library " + path + ": is an SQLite file of another application, not a studioflow library; "
                   "it was left untouched (choose another file with --library)");
  }
  std::string journal;
  {
    SF_ASSIGN_OR_RETURN(Stmt mode, db->prepare("PRAGMA journal_mode"));
    SF_ASSIGN_OR_RETURN(bool has_mode, mode.step());
    if (has_mode) journal = mode.col_text(0);
  }
  if (journal != "wal") {
    // Leaving the rollback journal needs the file to itself, and SQLite
    // answers "busy" at once there instead of waiting: connections opening
    // one new library together wait for each other here.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    for (;;) {
      Status st = db->exec("PRAGMA journal_mode = WAL");
      if (st.ok()) break;
      if (st.code() != Code::kUnavailable || std::chrono::steady_clock::now() >= give_up) return st;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  SF_RETURN_IF_ERROR(db->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL"));
  if (version != kSchemaVersion) SF_RETURN_IF_ERROR(migrate(db.get()));
  return std::make_unique<Library>(std::move(db));
}

Result<StoredTranscript> Library::load(int64_t transcript_id) {
  StoredTranscript out;
  SF_ASSIGN_OR_RETURN(Stmt t, db_->prepare(
      "SELECT t.media, t.engine, t.model, t.options, t.language, t.duration, "
      "(SELECT path FROM media_paths p WHERE p.media = t.media ORDER BY seen DESC LIMIT 1) "
      "FROM transcripts t WHERE t.id = ?1"));
  t.bind(1, transcript_id);
  SF_ASSIGN_OR_RETURN(bool row, t.step());
  if (!row) return not_found("library " + path() + ": no transcript " + std::to_string(transcript_id));
  out.media = t.col_int(0);
  out.engine = t.col_text(1);
  out.model = t.col_text(2);
  out.options = t.col_text(3);
  out.transcript.language = t.col_text(4);
  out.duration = t.col_double(5);
  out.path = t.col_text(6);

  SF_ASSIGN_OR_RETURN(Stmt segs, db_->prepare(
      "SELECT text, start, end, word_count FROM segments WHERE transcript = ?1 ORDER BY position"));
  SF_ASSIGN_OR_RETURN(Stmt words, db_->prepare(
      "SELECT text, start, end, prob FROM words WHERE transcript = ?1 ORDER BY position"));
  segs.bind(1, transcript_id);
  words.bind(1, transcript_id);
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool srow, segs.step());
    if (!srow) break;
    asr::Segment s;
    s.text = segs.col_text(0);
    s.start = segs.col_double(1);
    s.end = segs.col_double(2);
    for (int64_t n = segs.col_int(3); n > 0; --n) {
      SF_ASSIGN_OR_RETURN(bool wrow, words.step());
      if (!wrow) return corrupt("library " + path() + ": transcript " + std::to_string(transcript_id) +
                                " has fewer words than its segments list");
      s.words.push_back({words.col_text(0), words.col_double(1), words.col_double(2),
                         static_cast<float>(words.col_double(3))});
    }
    out.transcript.segments.push_back(std::move(s));
  }
  return out;
}

namespace {

// The canonical form of a targeted search: its pass version and its
// phrases, sorted, without repeats.
std::string search_key(const Library::TargetSearch& search) {
  std::set<std::string> set(search.targets.begin(), search.targets.end());
  nlohmann::json key = {{"pass", search.pass_version}, {"targets", set}};
  // A pass over part of the file is another search than one over all of it.
  if (!search.scope.empty()) key["scope"] = search.scope;
  return key.dump();
}

// The id of the transcript stored under `key`, or nullopt.
Result<std::optional<int64_t>> transcript_id(Db* db, const TranscriptKey& key) {
  SF_ASSIGN_OR_RETURN(Stmt q, db->prepare(
      "SELECT t.id FROM transcripts t JOIN media m ON m.id = t.media "
      "WHERE m.fingerprint = ?1 AND t.engine = ?2 AND t.model = ?3 AND t.options = ?4"));
  q.bind(1, key.fingerprint).bind(2, key.engine).bind(3, key.model).bind(4, key.options);
  SF_ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(q.col_int(0));
}

}  // namespace

Result<std::optional<StoredTranscript>> Library::find(const TranscriptKey& key) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kRead));
  SF_ASSIGN_OR_RETURN(auto tid, transcript_id(db_.get(), key));
  if (!tid) return std::optional<StoredTranscript>();
  SF_ASSIGN_OR_RETURN(StoredTranscript t, load(*tid));
  SF_RETURN_IF_ERROR(tx->commit());
  return std::optional<StoredTranscript>(std::move(t));
}

Result<std::optional<std::vector<asr::TargetHit>>> Library::find_hits(const TranscriptKey& key,
                                                                      const TargetSearch& search) {
  using Found = std::optional<std::vector<asr::TargetHit>>;
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kRead));
  SF_ASSIGN_OR_RETURN(auto tid, transcript_id(db_.get(), key));
  if (!tid) return Found();
  SF_ASSIGN_OR_RETURN(Stmt q, db_->prepare("SELECT hits FROM target_hits WHERE transcript = ?1 AND targets = ?2"));
  q.bind(1, *tid).bind(2, search_key(search));
  SF_ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return Found();
  auto j = nlohmann::json::parse(q.col_text(0), nullptr, /*allow_exceptions=*/false);
  auto parsed = asr::transcript_from_json(nlohmann::json{{"segments", nlohmann::json::array()}, {"hits", j}});
  if (!parsed.ok()) {
    return corrupt("library " + path() + ": stored targeted hits of transcript " + std::to_string(*tid) +
                   " are damaged: " + parsed.status().message());
  }
  SF_RETURN_IF_ERROR(tx->commit());
  return Found(std::move(parsed->hits));
}

Status Library::put_hits(const TranscriptKey& key, const TargetSearch& search,
                         const std::vector<asr::TargetHit>& hits) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  SF_ASSIGN_OR_RETURN(auto tid, transcript_id(db_.get(), key));
  if (!tid) return not_found("library " + path() + ": no transcript of " + key.fingerprint + " to add hits to");
  asr::Transcript only_hits;
  only_hits.hits = hits;
  nlohmann::json j = asr::to_json(only_hits);
  SF_ASSIGN_OR_RETURN(Stmt st, db_->prepare(
      "INSERT INTO target_hits(transcript, targets, hits, created) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT(transcript, targets) DO UPDATE SET hits = excluded.hits, created = excluded.created"));
  st.bind(1, *tid).bind(2, search_key(search))
      .bind(3, j.contains("hits") ? j["hits"].dump() : std::string("[]")).bind(4, now_seconds());
  SF_RETURN_IF_ERROR(st.run());
  return tx->commit();
}

Status Library::remember_path(const std::string& fingerprint, const std::string& path) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  SF_ASSIGN_OR_RETURN(Stmt st, db_->prepare(
      "INSERT INTO media_paths(media, path, seen) SELECT id, ?2, ?3 FROM media WHERE fingerprint = ?1 "
      "ON CONFLICT(media, path) DO UPDATE SET seen = excluded.seen"));
  st.bind(1, fingerprint).bind(2, path).bind(3, now_seconds());
  SF_RETURN_IF_ERROR(st.run());
  return tx->commit();
}

Status Library::put(const TranscriptKey& key, const MediaDescription& media, double decoded,
                    const asr::Transcript& transcript) {
  const double now = now_seconds();
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  SF_ASSIGN_OR_RETURN(Stmt ins, db_->prepare(
      "INSERT INTO media(fingerprint, size, duration, title, added) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(fingerprint) DO UPDATE SET title = CASE WHEN excluded.title <> '' THEN excluded.title "
      "ELSE media.title END RETURNING id"));
  ins.bind(1, key.fingerprint).bind(2, static_cast<int64_t>(media.size)).bind(3, media.duration)
      .bind(4, media.title).bind(5, now);
  SF_ASSIGN_OR_RETURN(bool got, ins.step());
  if (!got) return internal_error("library " + path() + ": no media id returned");
  const int64_t media_id = ins.col_int(0);
  SF_RETURN_IF_ERROR(ins.run());

  SF_ASSIGN_OR_RETURN(Stmt p, db_->prepare(
      "INSERT INTO media_paths(media, path, seen) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(media, path) DO UPDATE SET seen = excluded.seen"));
  p.bind(1, media_id).bind(2, media.path).bind(3, now);
  SF_RETURN_IF_ERROR(p.run());

  SF_ASSIGN_OR_RETURN(Stmt exists, db_->prepare(
      "SELECT 1 FROM transcripts WHERE media = ?1 AND engine = ?2 AND model = ?3 AND options = ?4"));
  exists.bind(1, media_id).bind(2, key.engine).bind(3, key.model).bind(4, key.options);
  SF_ASSIGN_OR_RETURN(bool already, exists.step());
  if (already) return tx->commit();

  int64_t n_words = 0;
  for (const auto& s : transcript.segments) n_words += static_cast<int64_t>(s.words.size());
  SF_ASSIGN_OR_RETURN(Stmt t, db_->prepare(
      "INSERT INTO transcripts(media, engine, model, options, language, duration, words, created) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  t.bind(1, media_id).bind(2, key.engine).bind(3, key.model).bind(4, key.options)
      .bind(5, transcript.language).bind(6, decoded).bind(7, n_words).bind(8, now);
  SF_RETURN_IF_ERROR(t.run());
  const int64_t tid = db_->last_insert_rowid();

  SF_ASSIGN_OR_RETURN(Stmt seg, db_->prepare(
      "INSERT INTO segments(transcript, position, text, start, end, first_word, word_count, norm) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  SF_ASSIGN_OR_RETURN(Stmt w, db_->prepare(
      "INSERT INTO words(transcript, position, text, norm, start, end, prob) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  int64_t pos = 0;
  for (size_t i = 0; i < transcript.segments.size(); ++i) {
    const auto& s = transcript.segments[i];
    seg.reset();
    seg.bind(1, tid).bind(2, static_cast<int64_t>(i)).bind(3, s.text).bind(4, s.start).bind(5, s.end)
        .bind(6, pos).bind(7, static_cast<int64_t>(s.words.size())).bind(8, norm_tokens(s.words));
    SF_RETURN_IF_ERROR(seg.run());
    for (const auto& word : s.words) {
      w.reset();
      w.bind(1, tid).bind(2, pos++).bind(3, word.text).bind(4, search::normalize_word(word.text))
          .bind(5, word.start).bind(6, word.end).bind(7, static_cast<double>(word.probability));
      SF_RETURN_IF_ERROR(w.run());
    }
  }
  return tx->commit();
}

Result<std::vector<MediaRecord>> Library::list() {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kRead));
  std::vector<MediaRecord> out;
  std::map<int64_t, size_t> index;
  SF_ASSIGN_OR_RETURN(Stmt m, db_->prepare(
      "SELECT id, fingerprint, size, duration, title, added FROM media ORDER BY id"));
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool row, m.step());
    if (!row) break;
    MediaRecord r;
    r.id = m.col_int(0);
    r.fingerprint = m.col_text(1);
    r.size = static_cast<uint64_t>(m.col_int(2));
    r.duration = m.col_double(3);
    r.title = m.col_text(4);
    r.added = m.col_double(5);
    index[r.id] = out.size();
    out.push_back(std::move(r));
  }
  SF_ASSIGN_OR_RETURN(Stmt p, db_->prepare("SELECT media, path FROM media_paths ORDER BY media, seen DESC"));
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool row, p.step());
    if (!row) break;
    auto it = index.find(p.col_int(0));
    if (it != index.end()) out[it->second].paths.push_back(p.col_text(1));
  }
  SF_ASSIGN_OR_RETURN(Stmt t, db_->prepare(
      "SELECT media, engine, model, options, language, words, duration, created FROM transcripts ORDER BY id"));
  for (;;) {
    SF_ASSIGN_OR_RETURN(bool row, t.step());
    if (!row) break;
    auto it = index.find(t.col_int(0));
    if (it == index.end()) continue;
    out[it->second].transcripts.push_back(
        {t.col_text(1), t.col_text(2), t.col_text(3), t.col_text(4), t.col_int(5), t.col_double(6), t.col_double(7)});
  }
  SF_RETURN_IF_ERROR(tx->commit());
  return out;
}

Result<std::optional<int64_t>> Library::resolve(const std::string& path_or_id) {
  if (!path_or_id.empty() && std::all_of(path_or_id.begin(), path_or_id.end(), [](char c) {
        return c >= '0' && c <= '9';
      }) && path_or_id.size() < 18) {
    SF_ASSIGN_OR_RETURN(Stmt q, db_->prepare("SELECT id FROM media WHERE id = ?1"));
    q.bind(1, static_cast<int64_t>(std::stoll(path_or_id)));
    SF_ASSIGN_OR_RETURN(bool row, q.step());
    if (row) return std::optional<int64_t>(q.col_int(0));
  }
  SF_ASSIGN_OR_RETURN(Stmt f, db_->prepare("SELECT id FROM media WHERE fingerprint = ?1"));
  f.bind(1, path_or_id);
  SF_ASSIGN_OR_RETURN(bool frow, f.step());
  if (frow) return std::optional<int64_t>(f.col_int(0));
  std::vector<std::string> candidates = {path_or_id};
  std::error_code ec;
  auto abs = std::filesystem::absolute(path_or_id, ec);
  if (!ec && abs.string() != path_or_id) candidates.push_back(abs.lexically_normal().string());
  SF_ASSIGN_OR_RETURN(Stmt p, db_->prepare(
      "SELECT media FROM media_paths WHERE path = ?1 ORDER BY seen DESC LIMIT 1"));
  for (const auto& c : candidates) {
    p.reset();
    p.bind(1, c);
    SF_ASSIGN_OR_RETURN(bool row, p.step());
    if (row) return std::optional<int64_t>(p.col_int(0));
  }
  return std::optional<int64_t>();
}

Status Library::forget(int64_t media) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kWrite));
  SF_ASSIGN_OR_RETURN(Stmt d, db_->prepare("DELETE FROM media WHERE id = ?1"));
  d.bind(1, media);
  SF_RETURN_IF_ERROR(d.run());
  SF_ASSIGN_OR_RETURN(auto changed, db_->query_int("SELECT changes()"));
  if (changed.value_or(0) == 0) {
    return not_found("library " + path() + ": no medium with id " + std::to_string(media));
  }
  return tx->commit();
}

Result<std::vector<Hit>> Library::search(const SearchQuery& query) {
  if (query.phrases.empty()) return invalid_argument("nothing to search for: give a word or a phrase");
  std::string media_filter;
  for (int64_t id : query.media) {
    media_filter += (media_filter.empty() ? "" : ",") + std::to_string(id);
  }
  const std::string sql =
      "SELECT s.id, s.transcript, s.text, s.start, s.end, s.first_word, s.word_count, t.media, t.engine, "
      "t.model, m.title, (SELECT path FROM media_paths p WHERE p.media = t.media ORDER BY seen DESC LIMIT 1) "
      "FROM segments_fts f JOIN segments s ON s.id = f.rowid JOIN transcripts t ON t.id = s.transcript "
      "JOIN media m ON m.id = t.media WHERE segments_fts MATCH ?1" +
      (media_filter.empty() ? std::string() : " AND t.media IN (" + media_filter + ")") + " ORDER BY f.rowid";

  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kRead));
  SF_ASSIGN_OR_RETURN(Stmt q, db_->prepare(sql));
  SF_ASSIGN_OR_RETURN(Stmt words, db_->prepare(
      "SELECT text, start, end, prob FROM words WHERE transcript = ?1 AND position >= ?2 AND position < ?3 "
      "ORDER BY position"));
  const search::MatchMode mode =
      query.mode == QueryMode::kPrefix ? search::MatchMode::kPrefix : search::MatchMode::kExact;

  // Key (segment id, start, query order) keeps hits in (media, time) order
  // when several phrases are asked for.
  std::map<std::tuple<int64_t, double, size_t>, Hit> hits;
  for (size_t qi = 0; qi < query.phrases.size(); ++qi) {
    const std::string& phrase = query.phrases[qi];
    auto tokens = search::tokenize(phrase);
    if (tokens.empty()) {
      return invalid_argument("\"" + phrase + "\" has no word characters to search for");
    }
    SF_ASSIGN_OR_RETURN(search::Matcher matcher, search::Matcher::create({phrase}, mode));
    q.reset();
    q.bind(1, fts_expression(tokens, query.mode));
    size_t found = 0;
    for (;;) {
      if (query.limit > 0 && found >= static_cast<size_t>(query.limit)) break;
      SF_ASSIGN_OR_RETURN(bool row, q.step());
      if (!row) break;
      words.reset();
      const int64_t first = q.col_int(5);
      words.bind(1, q.col_int(1)).bind(2, first).bind(3, first + q.col_int(6));
      std::vector<asr::Word> ws;
      for (;;) {
        SF_ASSIGN_OR_RETURN(bool wr, words.step());
        if (!wr) break;
        ws.push_back({words.col_text(0), words.col_double(1), words.col_double(2),
                      static_cast<float>(words.col_double(3))});
      }
      // The index finds candidate segments; the matcher decides, with the
      // same rules as a supercut.
      for (auto& m : matcher.find(0, ws)) {
        Hit h;
        h.media = q.col_int(7);
        h.engine = q.col_text(8);
        h.model = q.col_text(9);
        h.title = q.col_text(10);
        h.path = q.col_text(11);
        h.query = phrase;
        h.start = m.start;
        h.end = m.end;
        h.words = std::move(m.words);
        h.sentence = q.col_text(2);
        h.sentence_start = q.col_double(3);
        h.sentence_end = q.col_double(4);
        hits.emplace(std::make_tuple(q.col_int(0), h.start, qi), std::move(h));
        ++found;
      }
    }
  }
  SF_RETURN_IF_ERROR(tx->commit());
  std::vector<Hit> out;
  for (auto& [k, h] : hits) {
    if (query.limit > 0 && out.size() >= static_cast<size_t>(query.limit)) break;
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::optional<StoredTranscript>> Library::transcript_of(int64_t media, const TranscriptKey& preferred) {
  SF_ASSIGN_OR_RETURN(auto tx, Transaction::begin(db_.get(), Transaction::Kind::kRead));
  SF_ASSIGN_OR_RETURN(Stmt q, db_->prepare(
      "SELECT id FROM transcripts WHERE media = ?1 "
      "ORDER BY (engine = ?2 AND model = ?3 AND options = ?4) DESC, created DESC, id DESC LIMIT 1"));
  q.bind(1, media).bind(2, preferred.engine).bind(3, preferred.model).bind(4, preferred.options);
  SF_ASSIGN_OR_RETURN(bool row, q.step());
  if (!row) return std::optional<StoredTranscript>();
  SF_ASSIGN_OR_RETURN(StoredTranscript t, load(q.col_int(0)));
  SF_RETURN_IF_ERROR(tx->commit());
  return std::optional<StoredTranscript>(std::move(t));
}

}  // namespace sf::store
