// The transcript library on real SQLite files in a temporary folder.
#include "store/library.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "store/fingerprint.h"
#include "store/sqlite.h"

namespace sf::store {
namespace {

namespace fs = std::filesystem;

class LibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sf-library-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

asr::Transcript talk(const std::vector<std::vector<std::string>>& sentences, double t0 = 1.0) {
  asr::Transcript t;
  t.language = "en";
  double now = t0;
  for (const auto& s : sentences) {
    asr::Segment seg;
    seg.start = now;
    for (const auto& w : s) {
      seg.words.push_back({w, now, now + 0.31, 0.5f + 0.01f * static_cast<float>(seg.words.size())});
      seg.text += (seg.text.empty() ? "" : " ") + w;
      now += 0.4;
    }
    seg.end = now;
    now += 1.0;
    t.segments.push_back(std::move(seg));
  }
  return t;
}

TranscriptKey key(const std::string& fp, const std::string& options = "{}") {
  return {fp, "sphinx", "", options};
}

std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

TEST_F(LibraryTest, StoresExactlyWhatTheEngineProducedAndFindsItByKey) {
  auto lib = Library::open(path("lib.db"));
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  asr::Transcript t = talk({{"Welcome", "to", "the", "news."}, {"The", "budget", "passed"}});
  t.segments[1].words[1].probability = 0.123456789f;
  ASSERT_TRUE((*lib)->put(key("fp1"), {"/m/a.mp4", "a", 100, 12.5}, 12.48, t).ok());

  auto got = (*lib)->find(key("fp1"));
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  const auto& s = **got;
  EXPECT_EQ(s.path, "/m/a.mp4");
  EXPECT_DOUBLE_EQ(s.duration, 12.48);
  EXPECT_EQ(s.transcript.language, "en");
  ASSERT_EQ(s.transcript.segments.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = s.transcript.segments[i];
    const auto& b = t.segments[i];
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.start, b.start);
    EXPECT_EQ(a.end, b.end);
    ASSERT_EQ(a.words.size(), b.words.size());
    for (size_t j = 0; j < a.words.size(); ++j) {
      EXPECT_EQ(a.words[j].text, b.words[j].text);
      EXPECT_EQ(a.words[j].start, b.words[j].start);
      EXPECT_EQ(a.words[j].end, b.words[j].end);
      EXPECT_EQ(a.words[j].probability, b.words[j].probability);
    }
  }

  // Another engine, model or option is another transcript: a miss.
  EXPECT_FALSE((*lib)->find({"fp1", "whisper", "", "{}"})->has_value());
  EXPECT_FALSE((*lib)->find({"fp1", "sphinx", "x", "{}"})->has_value());
  EXPECT_FALSE((*lib)->find(key("fp1", "{\"language\":\"de\"}"))->has_value());
  EXPECT_FALSE((*lib)->find(key("fp2"))->has_value());

  // Reopened from disk, it is still there.
  lib->reset();
  auto again = Library::open(path("lib.db"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->find(key("fp1"))->has_value());
}

TEST_F(LibraryTest, SecondPutOfOneKeyKeepsTheFirstAndRecordsThePath) {
  auto lib = Library::open(path("lib.db"));
  ASSERT_TRUE(lib.ok());
  ASSERT_TRUE((*lib)->put(key("fp"), {"/m/a.mp4", "a", 1, 5}, 5, talk({{"one", "two"}})).ok());
  ASSERT_TRUE((*lib)->put(key("fp"), {"/m/b.mp4", "b", 1, 5}, 5, talk({{"three"}})).ok());
  auto got = (*lib)->find(key("fp"));
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->transcript.words().size(), 2u);
  auto media = (*lib)->list();
  ASSERT_TRUE(media.ok());
  ASSERT_EQ(media->size(), 1u);
  EXPECT_EQ((*media)[0].paths.size(), 2u);
  EXPECT_EQ((*media)[0].transcripts.size(), 1u);
  EXPECT_EQ((*media)[0].transcripts[0].words, 2);
}

TEST_F(LibraryTest, TargetedHitsAreKeptPerTranscriptAndSetOfTargets) {
  const std::string p = path("lib.db");
  auto lib = Library::open(p);
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  asr::TargetHit spotted{"budget", 2.25, 2.75, 6, true, -21.5f, 0.8125f, 0.625f, 0.375f};
  spotted.snr_db = 14.5f;  // heard in noise
  spotted.noise_spread_db = 2.25f;
  asr::TargetHit lattice{"climate change", 7.5, 8.5, 9, false, 0, 0.25f, 0};
  const Library::TargetSearch targets{{"budget", "climate change"}, 1, ""};
  // No transcript yet: nothing to attach hits to.
  auto early = (*lib)->put_hits(key("fp1"), targets, {spotted});
  EXPECT_EQ(early.code(), Code::kNotFound) << early.message();
  ASSERT_TRUE((*lib)->put(key("fp1"), {"/m/a.mp4", "a", 100, 12.5}, 12.5, talk({{"the", "budget"}})).ok());
  EXPECT_FALSE((*lib)->find_hits(key("fp1"), targets)->has_value());

  ASSERT_TRUE((*lib)->put_hits(key("fp1"), targets, {spotted, lattice}).ok());
  // The same set in another order and with a repeat: the same result.
  auto got = (*lib)->find_hits(key("fp1"), {{"climate change", "budget", "budget"}, 1, ""});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  ASSERT_EQ((*got)->size(), 2u);
  const asr::TargetHit& a = (**got)[0];
  EXPECT_EQ(a.query, "budget");
  EXPECT_DOUBLE_EQ(a.start, 2.25);
  EXPECT_DOUBLE_EQ(a.end, 2.75);
  EXPECT_EQ(a.phones, 6);
  EXPECT_TRUE(a.spotted);
  EXPECT_FLOAT_EQ(a.spot_score, -21.5f);
  EXPECT_FLOAT_EQ(a.posterior, 0.8125f);
  EXPECT_FLOAT_EQ(a.biased_posterior, 0.625f);
  EXPECT_FLOAT_EQ(a.expected_seconds, 0.375f);
  EXPECT_FLOAT_EQ(a.snr_db, 14.5f);
  EXPECT_FLOAT_EQ(a.noise_spread_db, 2.25f);
  EXPECT_EQ((**got)[1].query, "climate change");
  EXPECT_FALSE((**got)[1].spotted);
  EXPECT_FLOAT_EQ((**got)[1].expected_seconds, 0.0f);  // unknown stays unknown
  EXPECT_FLOAT_EQ((**got)[1].snr_db, asr::TargetHit::kCleanSnrDb);  // clean stays clean

  // Another set, another pass version, another transcript key: not known.
  EXPECT_FALSE((*lib)->find_hits(key("fp1"), {{"budget"}, 1, ""})->has_value());
  EXPECT_FALSE((*lib)->find_hits(key("fp1"), {targets.targets, 2, ""})->has_value());
  EXPECT_FALSE((*lib)->find_hits(key("fp1", R"({"other":1})"), targets)->has_value());
  // A pass over part of the file is another search than one over all of it.
  EXPECT_FALSE((*lib)->find_hits(key("fp1"), {targets.targets, 1, "near-words/1"})->has_value());
  ASSERT_TRUE((*lib)->put_hits(key("fp1"), {targets.targets, 1, "near-words/1"}, {spotted}).ok());
  EXPECT_EQ((*lib)->find_hits(key("fp1"), {targets.targets, 1, "near-words/1"})->value().size(), 1u);
  EXPECT_EQ((*lib)->find_hits(key("fp1"), targets)->value().size(), 2u);
  // A search that found nothing is a result too, and a new one replaces the old.
  ASSERT_TRUE((*lib)->put_hits(key("fp1"), {{"budget"}, 1, ""}, {}).ok());
  ASSERT_TRUE((*lib)->find_hits(key("fp1"), {{"budget"}, 1, ""})->has_value());
  EXPECT_TRUE((*lib)->find_hits(key("fp1"), {{"budget"}, 1, ""})->value().empty());
  ASSERT_TRUE((*lib)->put_hits(key("fp1"), targets, {lattice}).ok());
  EXPECT_EQ((*lib)->find_hits(key("fp1"), targets)->value().size(), 1u);

  // Forgetting the medium removes its hits with its transcripts.
  auto id = (*lib)->resolve("fp1");
  ASSERT_TRUE(id.ok() && id->has_value());
  ASSERT_TRUE((*lib)->forget(**id).ok());
  auto db = sqlite::Db::open(p, sqlite::Db::Mode::kReadWrite, 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->query_int("SELECT count(*) FROM target_hits")->value_or(-1), 0);
}

TEST_F(LibraryTest, SearchFindsWordsPhrasesAndPrefixesWithTimes) {
  auto lib = Library::open(path("lib.db"));
  ASSERT_TRUE(lib.ok());
  ASSERT_TRUE((*lib)->put(key("a"), {"/m/a.mp4", "a", 1, 60},  60,
                          talk({{"The", "city", "budget", "passed."}, {"Budgets", "are", "hard"},
                                {"The", "city", "council", "met"}})).ok());
  ASSERT_TRUE((*lib)->put(key("b"), {"/m/b.mp4", "b", 1, 60}, 60,
                          talk({{"No", "budget", "today"}, {"City"}, {"budget", "again"}}, 5.0)).ok());

  SearchQuery q;
  q.phrases = {"budget"};
  auto hits = (*lib)->search(q);
  ASSERT_TRUE(hits.ok()) << hits.status().message();
  ASSERT_EQ(hits->size(), 3u);
  EXPECT_EQ((*hits)[0].path, "/m/a.mp4");
  EXPECT_DOUBLE_EQ((*hits)[0].start, 1.8);
  EXPECT_DOUBLE_EQ((*hits)[0].end, 1.8 + 0.31);
  EXPECT_EQ((*hits)[0].sentence, "The city budget passed.");
  EXPECT_EQ((*hits)[1].path, "/m/b.mp4");
  EXPECT_EQ((*hits)[2].path, "/m/b.mp4");
  EXPECT_EQ((*hits)[2].words, std::vector<std::string>{"budget"});

  // A phrase: consecutive words, not across segments ("City" / "budget").
  q.phrases = {"City Budget"};
  hits = (*lib)->search(q);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].words, (std::vector<std::string>{"city", "budget"}));
  EXPECT_DOUBLE_EQ((*hits)[0].start, 1.4);

  q.phrases = {"budget"};
  q.mode = QueryMode::kPrefix;
  hits = (*lib)->search(q);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 4u);  // "Budgets" too

  q.mode = QueryMode::kExact;
  q.phrases = {"budge"};
  EXPECT_EQ((*lib)->search(q)->size(), 0u);

  // Limited to one medium, and to a number of hits.
  auto b = (*lib)->resolve("/m/b.mp4");
  ASSERT_TRUE(b.ok() && b->has_value());
  q.phrases = {"budget"};
  q.media = {**b};
  EXPECT_EQ((*lib)->search(q)->size(), 2u);
  q.media = {};
  q.limit = 1;
  EXPECT_EQ((*lib)->search(q)->size(), 1u);

  q.phrases = {"?!"};
  EXPECT_EQ((*lib)->search(q).status().code(), Code::kInvalidArgument);

  // Forgetting a medium removes it from the index too.
  ASSERT_TRUE((*lib)->forget(**b).ok());
  q.phrases = {"budget"};
  q.limit = 0;
  EXPECT_EQ((*lib)->search(q)->size(), 1u);
  EXPECT_EQ((*lib)->forget(**b).code(), Code::kNotFound);
}

TEST_F(LibraryTest, CorruptFileIsAClearErrorAndLeftUntouched) {
  const std::string p = path("lib.db");
  {
    std::ofstream f(p, std::ios::binary);
    for (int i = 0; i < 512; ++i) f << "this is not a database, it is a text file of 64 bytes in a row.\n";
  }
  const std::string before = read_all(p);
  auto lib = Library::open(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), Code::kCorrupt);
  EXPECT_NE(lib.status().message().find(p), std::string::npos) << lib.status().message();
  EXPECT_TRUE(read_all(p) == before) << "the file was changed";
  EXPECT_FALSE(fs::exists(p + "-wal"));
}

TEST_F(LibraryTest, SqliteFileOfAnotherApplicationIsRefused) {
  const std::string p = path("other.db");
  {
    auto db = sqlite::Db::open(p, sqlite::Db::Mode::kReadWriteCreate, 1000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (7)").ok());
  }
  const std::string before = read_all(p);
  auto lib = Library::open(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), Code::kCorrupt);
  EXPECT_NE(lib.status().message().find("not a studioflow library"), std::string::npos);
  EXPECT_TRUE(read_all(p) == before) << "the file was changed";
}

TEST_F(LibraryTest, NewerSchemaIsRefusedAndLeftUntouched) {
  const std::string p = path("lib.db");
  {
    auto lib = Library::open(p);
    ASSERT_TRUE(lib.ok());
    ASSERT_TRUE((*lib)->put(key("fp"), {"/m/a.mp4", "a", 1, 5}, 5, talk({{"one"}})).ok());
  }
  {
    auto db = sqlite::Db::open(p, sqlite::Db::Mode::kReadWrite, 1000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA user_version = 9").ok());
    ASSERT_TRUE((*db)->exec("PRAGMA journal_mode = DELETE").ok());
  }
  const std::string before = read_all(p);
  auto lib = Library::open(p);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), Code::kUnsupported);
  EXPECT_NE(lib.status().message().find(p), std::string::npos);
  EXPECT_NE(lib.status().message().find("schema version 9"), std::string::npos) << lib.status().message();
  EXPECT_TRUE(read_all(p) == before) << "the file was changed";
}

TEST_F(LibraryTest, SchemaOneIsMigratedAndItsTranscriptsBecomeSearchable) {
  const std::string p = path("v1.db");
  {
    // A library as schema 1 wrote it: no segments.norm, no full-text index.
    auto db = sqlite::Db::open(p, sqlite::Db::Mode::kReadWriteCreate, 1000);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec(R"sql(
      CREATE TABLE media(id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
        duration REAL NOT NULL, title TEXT NOT NULL DEFAULT '', added REAL NOT NULL);
      CREATE TABLE media_paths(media INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE, path TEXT NOT NULL,
        seen REAL NOT NULL, PRIMARY KEY(media, path)) WITHOUT ROWID;
      CREATE INDEX media_paths_path ON media_paths(path);
      CREATE TABLE transcripts(id INTEGER PRIMARY KEY, media INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,
        engine TEXT NOT NULL, model TEXT NOT NULL, options TEXT NOT NULL, language TEXT NOT NULL,
        duration REAL NOT NULL, words INTEGER NOT NULL, created REAL NOT NULL, UNIQUE(media, engine, model, options));
      CREATE TABLE segments(id INTEGER PRIMARY KEY, transcript INTEGER NOT NULL REFERENCES transcripts(id)
        ON DELETE CASCADE, position INTEGER NOT NULL, text TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
        first_word INTEGER NOT NULL, word_count INTEGER NOT NULL);
      CREATE INDEX segments_transcript ON segments(transcript, position);
      CREATE TABLE words(transcript INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        position INTEGER NOT NULL, text TEXT NOT NULL, norm TEXT NOT NULL, start REAL NOT NULL, end REAL NOT NULL,
        prob REAL NOT NULL, PRIMARY KEY(transcript, position)) WITHOUT ROWID;
      CREATE INDEX words_norm ON words(norm);
      INSERT INTO media VALUES (1, 'fpold', 10, 4.0, 'old', 0);
      INSERT INTO media_paths VALUES (1, '/m/old.mp4', 0);
      INSERT INTO transcripts VALUES (1, 1, 'sphinx', '', '{}', 'en', 4.0, 3, 0);
      INSERT INTO segments VALUES (1, 1, 0, 'The Budget, passed', 0.5, 2.0, 0, 3);
      INSERT INTO words VALUES (1, 0, 'The', 'the', 0.5, 0.7, 0.9), (1, 1, 'Budget,', 'budget', 0.8, 1.2, 0.8),
                               (1, 2, 'passed', 'passed', 1.3, 2.0, 0.7);
      PRAGMA application_id = 1397124194;
      PRAGMA user_version = 1;
    )sql").ok());
  }
  auto lib = Library::open(p);
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  SearchQuery q;
  q.phrases = {"budget passed"};
  auto hits = (*lib)->search(q);
  ASSERT_TRUE(hits.ok()) << hits.status().message();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].path, "/m/old.mp4");
  EXPECT_DOUBLE_EQ((*hits)[0].start, 0.8);
  EXPECT_DOUBLE_EQ((*hits)[0].end, 2.0);
  auto db = sqlite::Db::open(p, sqlite::Db::Mode::kReadWrite, 1000);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->query_int("PRAGMA user_version")->value_or(-1), kSchemaVersion);
  // New transcripts go into the migrated file as usual.
  ASSERT_TRUE((*lib)->put(key("fpnew"), {"/m/new.mp4", "new", 1, 5}, 5, talk({{"budget", "passed"}})).ok());
  EXPECT_EQ((*lib)->search(q)->size(), 2u);
  // ... and so do targeted hits (schema 3).
  ASSERT_TRUE((*lib)->put_hits(key("fpold"), {{"budget"}, 1, ""}, {{"budget", 0.8, 1.2, 6, true, -20, 0.9f}}).ok());
  EXPECT_EQ((*lib)->find_hits(key("fpold"), {{"budget"}, 1, ""})->value().size(), 1u);
}

TEST_F(LibraryTest, TwoConnectionsWritingAtOnceLoseNothing) {
  const std::string p = path("lib.db");
  ASSERT_TRUE(Library::open(p).ok());
  auto writer = [&](const std::string& prefix, Status* out) {
    auto lib = Library::open(p);
    if (!lib.ok()) {
      *out = lib.status();
      return;
    }
    for (int i = 0; i < 25; ++i) {
      Status s = (*lib)->put(key(prefix + std::to_string(i)), {"/m/" + prefix + std::to_string(i), "", 1, 5}, 5,
                             talk({{"budget", prefix}, {"more", "words", "here"}}));
      if (!s.ok()) {
        *out = s;
        return;
      }
    }
  };
  Status a, b;
  std::thread ta(writer, "x", &a), tb(writer, "y", &b);
  ta.join();
  tb.join();
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  auto lib = Library::open(p);
  ASSERT_TRUE(lib.ok());
  EXPECT_EQ((*lib)->list()->size(), 50u);
  SearchQuery q;
  q.phrases = {"budget"};
  EXPECT_EQ((*lib)->search(q)->size(), 50u);
}

// Several connections opening one new file at once (the service's first
// compilations): one creates the library, the others must see either no
// library yet or the whole one, never a half-made file they take for
// another application's. Repeated on fresh files, since the window is
// short.
TEST_F(LibraryTest, ConnectionsCreatingOneLibraryAtOnceAllOpenIt) {
  for (int round = 0; round < 20; ++round) {
    const std::string p = path("new-" + std::to_string(round) + ".db");
    std::vector<Status> results(8);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < results.size(); ++i) {
      threads.emplace_back([&, i] {
        auto lib = Library::open(p);
        results[i] = lib.ok() ? Status() : lib.status();
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.message();
  }
}

TEST_F(LibraryTest, MissingFolderIsAnErrorUnlessAskedToCreateIt) {
  auto lib = Library::open(path("no/such/lib.db"));
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), Code::kNotFound);
  EXPECT_TRUE(Library::open(path("made/here/lib.db"), true).ok());
}

TEST(LibraryPath, FlagThenEnvironmentThenXdgThenHome) {
  ::setenv("STUDIOFLOW_LIBRARY", "/env/lib.db", 1);
  EXPECT_EQ(*library_path("/flag.db"), "/flag.db");
  EXPECT_EQ(*library_path(""), "/env/lib.db");
  ::unsetenv("STUDIOFLOW_LIBRARY");
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  EXPECT_EQ(*library_path(""), "/xdg/studioflow/library.db");
  ::unsetenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  if (home != nullptr) {
    EXPECT_EQ(*library_path(""), std::string(home) + "/.local/share/studioflow/library.db");
  }
}

class FingerprintTest : public LibraryTest {};

void write(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

TEST_F(FingerprintTest, ContentNotPathDecides) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  write(path("a.mp4"), data);
  auto a = fingerprint_file(path("a.mp4"), 10.0);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_FALSE(a->sampled);
  EXPECT_EQ(a->size, data.size());
  EXPECT_EQ(a->hex.rfind("xxh3-128:", 0), 0u);

  fs::rename(path("a.mp4"), path("renamed.mp4"));
  EXPECT_EQ(fingerprint_file(path("renamed.mp4"), 10.0)->hex, a->hex);
  EXPECT_NE(fingerprint_file(path("renamed.mp4"), 10.5)->hex, a->hex);  // another duration

  data[data.size() / 2] ^= 1;  // one bit in the middle
  write(path("changed.mp4"), data);
  EXPECT_NE(fingerprint_file(path("changed.mp4"), 10.0)->hex, a->hex);
  write(path("longer.mp4"), data + "x");
  EXPECT_NE(fingerprint_file(path("longer.mp4"), 10.0)->hex, fingerprint_file(path("changed.mp4"), 10.0)->hex);
}

TEST_F(FingerprintTest, LargeFilesAreSampledHeadAndTailIncluded) {
  const std::string p = path("big.mkv");
  {
    std::ofstream f(p, std::ios::binary);
    f << "head";
  }
  fs::resize_file(p, kFullHashLimit + (8ull << 20));  // sparse: reads as zeros
  auto a = fingerprint_file(p, 3600);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_TRUE(a->sampled);
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(p) - 10));
    f << "tail";
  }
  auto b = fingerprint_file(p, 3600);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->hex, b->hex);
}

TEST_F(FingerprintTest, ErrorsNameTheFile) {
  auto missing = fingerprint_file(path("nope.mp4"), 1);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.mp4"), std::string::npos);
  write(path("empty.mp4"), "");
  EXPECT_EQ(fingerprint_file(path("empty.mp4"), 1).status().code(), Code::kBadMedia);
  EXPECT_EQ(fingerprint_file(dir_.string(), 1).status().code(), Code::kBadMedia);
}

}  // namespace
}  // namespace sf::store
