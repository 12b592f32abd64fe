// The transcript library: every transcript studioflow has made, in one
// SQLite file, so the same media is never transcribed twice and words can be
// searched across everything.
//
// Keys. A transcript is stored once per (media fingerprint, engine, model,
// options): the fingerprint is the content hash of store/fingerprint.h,
// never the path, so a renamed or copied file is found and a changed one is
// not. `options` is a canonical string of the engine options that change
// the words (language, task, beam size, prompt, segment length); options
// that only change speed (threads, workers) are not part of it. The media's
// paths (each path it was seen at, with the time) and a title are kept for
// display and for cutting from the library; they are not keys.
//
// File. SQLite in WAL mode (readers never block the writer), foreign keys
// on, a busy timeout (10 s) for locks held by other processes; every write
// is one BEGIN IMMEDIATE transaction, so concurrent processes that store
// transcripts at the same time serialize instead of failing, and a crash
// leaves either all of a transcript or none of it. The schema is versioned
// with PRAGMA user_version and marked with PRAGMA application_id; open()
// migrates older versions in place, inside one transaction. It refuses, with
// an error naming the file and never writing to it: a file that is not
// SQLite or is damaged (kCorrupt), a SQLite file of another application
// (kCorrupt), a library of a newer schema than this build knows
// (kUnsupported).
//
// Tables (schema 2): media(id, fingerprint, size, duration, title, added),
// media_paths(media, path, seen), transcripts(id, media, engine, model,
// options, language, duration, words, created), segments(id, transcript,
// position, text, norm, start, end, first_word, word_count), words(
// transcript, position, text, norm, start, end, prob) with an index on norm,
// and segments_fts, an FTS5 index over each segment's normalized tokens
// (search::tokenize of its words, so query and index fold alike) kept in
// step by triggers. Schema 1 lacked segments.norm and segments_fts.
//
// Thread-safety: one Library is one connection; use it from one thread at
// a time (open one per thread). Any number of processes may open one file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asr/engine.h"
#include "core/status.h"

namespace sf::store {

namespace sqlite {
class Db;
}

inline constexpr int kSchemaVersion = 3;

// The library file in force: `flag` if non-empty, else $STUDIOFLOW_LIBRARY,
// else $XDG_DATA_HOME/studioflow/library.db, else
// ~/.local/share/studioflow/library.db. Error (kNotFound) when none of them
// can be formed (no HOME).
Result<std::string> library_path(const std::string& flag);

struct TranscriptKey {
  std::string fingerprint;  // Fingerprint::hex
  std::string engine;       // "sphinx" | "whisper"
  std::string model;        // as given ("" = the engine's default)
  std::string options;      // canonical options string (see above)
};

// What is known about a medium when its transcript is stored.
struct MediaDescription {
  std::string path;   // where it was read from now
  std::string title;  // for display; may be empty
  uint64_t size = 0;
  double duration = 0;  // probed seconds (part of the fingerprint)
};

struct StoredTranscript {
  int64_t media = 0;
  std::string path;       // last path the medium was seen at
  std::string engine, model, options;
  double duration = 0;    // seconds of audio decoded when it was made
  asr::Transcript transcript;  // exactly what the engine produced
};

struct TranscriptInfo {
  std::string engine, model, options, language;
  int64_t words = 0;
  double duration = 0;
  double created = 0;  // Unix seconds
};

struct MediaRecord {
  int64_t id = 0;
  std::string fingerprint;
  uint64_t size = 0;
  double duration = 0;
  std::string title;
  std::vector<std::string> paths;  // most recently seen first
  std::vector<TranscriptInfo> transcripts;
  double added = 0;  // Unix seconds
};

enum class QueryMode { kExact, kPrefix };

struct SearchQuery {
  std::vector<std::string> phrases;  // each a word or a phrase (any of them matches)
  QueryMode mode = QueryMode::kExact;
  std::vector<int64_t> media;        // limit to these media ids; empty: all
  int limit = 0;                     // most hits returned; 0 = all
};

struct Hit {
  int64_t media = 0;
  std::string path;   // last path the medium was seen at
  std::string title;
  std::string engine, model;
  std::string query;  // the phrase that matched, as given
  double start = 0, end = 0;       // seconds: first word's start, last word's end
  std::vector<std::string> words;  // as spoken
  std::string sentence;            // the segment the hit lies in
  double sentence_start = 0, sentence_end = 0;
};

class Library {
 public:
  // Opens or creates the library at `path` (creating its folder when
  // `create_folder`), migrating an older schema. Errors name the file (see
  // the header comment); kNotFound when the folder does not exist.
  static Result<std::unique_ptr<Library>> open(const std::string& path, bool create_folder = false);

  explicit Library(std::unique_ptr<sqlite::Db> db);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const std::string& path() const;

  // The transcript stored under `key`, or nullopt.
  Result<std::optional<StoredTranscript>> find(const TranscriptKey& key);

  // Records that the medium with `fingerprint` was seen at `path` now (a
  // renamed file keeps its transcripts and gains the new path). No-op when
  // the fingerprint is unknown.
  Status remember_path(const std::string& fingerprint, const std::string& path);

  // Stores `transcript` under `key`, with `decoded` seconds of audio, and
  // the medium's description. When another process stored the same key
  // first, keeps that one (same engine and options, so same words) and
  // returns OK.
  Status put(const TranscriptKey& key, const MediaDescription& media, double decoded,
             const asr::Transcript& transcript);

  // One targeted search: the phrases listened for (a set: order and
  // repeats do not matter; the spotter's hits for one phrase can depend on
  // the others) and the version of the engine's pass that listened.
  struct TargetSearch {
    std::vector<std::string> targets;
    int pass_version = 0;
    // Which audio was listened to: "" the whole file; otherwise a name of
    // the rule that chose part of it (pipeline/library_targeted.h), with
    // its version. Hits of one scope are never taken for another's.
    std::string scope;
  };

  // The hits (asr::TargetHit) of `search` on the transcript stored under
  // `key`. nullopt when that search was never stored for this transcript
  // (another set or another pass version), or the transcript is not stored.
  Result<std::optional<std::vector<asr::TargetHit>>> find_hits(const TranscriptKey& key, const TargetSearch& search);

  // Stores `hits` as the result of `search` on the transcript stored under
  // `key`, replacing an earlier result of the same search. kNotFound when no
  // transcript is stored under `key`. Removed with the medium (forget()).
  Status put_hits(const TranscriptKey& key, const TargetSearch& search, const std::vector<asr::TargetHit>& hits);

  // Every medium, oldest first.
  Result<std::vector<MediaRecord>> list();

  // The media id for `path_or_id`: a decimal id, a fingerprint, or a path
  // the medium was seen at. nullopt when nothing matches.
  Result<std::optional<int64_t>> resolve(const std::string& path_or_id);

  // Removes a medium and all its transcripts. kNotFound for an unknown id.
  Status forget(int64_t media);

  // Every place a phrase was said, ordered by (media id, time). Phrases are
  // compared like search::Matcher (normalized tokens, consecutive words; in
  // prefix mode each token a prefix). A phrase does not match across two
  // segments. Errors: kInvalidArgument for a phrase without word characters.
  Result<std::vector<Hit>> search(const SearchQuery& query);

  // The transcripts of `media`: the one matching `preferred` engine, model
  // and options when it exists, else the newest. nullopt when it has none.
  Result<std::optional<StoredTranscript>> transcript_of(int64_t media, const TranscriptKey& preferred);

 private:
  Result<StoredTranscript> load(int64_t transcript_id);
  std::unique_ptr<sqlite::Db> db_;
};

}  // namespace sf::store
