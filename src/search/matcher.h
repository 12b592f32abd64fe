// Finding words and phrases in timed transcripts.
//
// A Matcher holds a set of queries (words or phrases) compiled once, and
// finds every place any of them was spoken in one input's word list. Both
// sides are compared in the normalized form of search/normalize.h, so case,
// accents, typographic apostrophes and surrounding punctuation never matter.
//
// Thread-safety: a Matcher is immutable after create(); find() is const and
// may be called from many threads at once. Matchers are copyable and movable.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asr/transcript.h"
#include "core/status.h"

namespace sf::search {

enum class MatchMode {
  kExact,   // every query token equals a transcript token
  kPrefix,  // every query token is a prefix of a transcript token ("edit" finds "editing")
  kRegex,   // every query token is a regular expression matching a whole word
};

// Parses "exact", "prefix" or "regex" (ASCII case ignored). Error
// (kInvalidArgument) names the value and the accepted ones.
Result<MatchMode> parse_match_mode(std::string_view text);
std::string_view match_mode_name(MatchMode mode);

// Why a match is believed (search/fusion.h weighs it into a confidence).
struct Evidence {
  // The one-best transcript has the words; word_probability is the lowest
  // of their probabilities.
  bool one_best = false;
  float word_probability = 0;
  // The engine's targeted search (asr::TargetHit): the keyword spotter
  // fired (with its per-phone score), the lattice posterior, and the
  // posterior in the decode biased towards the targets. phone_seconds is
  // the length of the spotter's detection that gave spot_score over the
  // query's phones (0: not spotted or phones unknown): false alarms are
  // squeezed into the few frames a phone must last at the least.
  bool spotted = false;
  float spot_score = 0;
  float phone_seconds = 0;
  float posterior = 0;
  float biased_posterior = 0;
  int phones = 0;  // the query's length in phones (0: unknown)
  // How long the acoustic model expects the query's phones to last
  // (asr::TargetHit::expected_seconds; 0: unknown).
  float expected_seconds = 0;
  // The noise where the engine heard it (asr::TargetHit::snr_db and
  // noise_spread_db; asr::TargetHit::kCleanSnrDb: clean or not measured).
  float snr_db = asr::TargetHit::kCleanSnrDb;
  float noise_spread_db = 0;
};

struct Match {
  int input = 0;                   // input index
  double start = 0, end = 0;       // seconds: first word's start, last word's end
  std::vector<std::string> words;  // the matched words as spoken (original text)
  std::string query;               // the query that matched, as the caller gave it
  // In [0, 1]: 1 for a match of the one-best transcript alone as find()
  // makes it; search::fuse() sets it from the evidence.
  float confidence = 1.0f;
  Evidence evidence;
};

// How transcript words are matched (the contract of find()):
//
//  * Exact and prefix modes compare tokens: each transcript word is split by
//    tokenize() ("well-known" is the tokens "well", "known"; "Hello," is
//    "hello"), and so is each query. A query of n tokens matches n consecutive
//    transcript tokens; its tokens may lie in one word or in several, so the
//    query "well known" finds the spoken "well-known" and vice versa.
//  * Matches cover whole words: a match begins at a word's first token, and in
//    exact mode ends at a word's last token (the query "known" does not match
//    "well-known"). In prefix mode the last token may end inside a word: the
//    query "well" finds "well-known" and "wellness"; the whole word is reported.
//  * Regex mode compares whole words: the query is split at white space only
//    (not normalized), each piece is a regular expression in RE2 syntax that
//    must match a whole normalized word (normalize_word(), e.g. "well-known",
//    "don't", "cafe"), ignoring case. Patterns run in time linear in the
//    word's length (no backtracking: back-references and look-around are
//    not supported and are reported as invalid). Non-ASCII characters of a
//    pattern are folded like words (fold_pattern(): "Straße" matches what
//    "strasse" matches); write accents and case as you like, but ASCII
//    punctuation such as the apostrophe and hyphen as normalized words have
//    them.
//  * Phrases match consecutive words only. Words that contain no word
//    characters (a transcribed "—" or "...") are not spoken words and are
//    skipped transparently; they never appear in Match::words.
//  * A word with a non-finite start or end (NaN, infinity) cannot be matched
//    and breaks phrases across it. A word whose end is before its start is
//    taken as ending at its start. Words are expected in time order.
//  * Every occurrence is reported: overlapping matches of different queries
//    (and of one query with itself, "la la" in "la la la") are all returned.
//    Queries that are equal after normalization are one query (the first
//    spelling is reported). Results are sorted by (start, end, query order).
class Matcher {
 public:
  // Compiles `queries` for `mode`. Errors (kInvalidArgument): no queries, a
  // query that normalizes to nothing (named, e.g. "?!"), an invalid regular
  // expression (the query and the regex library's reason are named).
  static Result<Matcher> create(std::vector<std::string> queries, MatchMode mode);

  // All matches of any query in one input's words; each Match has `input` set
  // to the given index. Never fails, and takes time linear in the number of
  // words (times the queries) for every pattern.
  std::vector<Match> find(int input, std::span<const asr::Word> words) const;

  MatchMode mode() const { return mode_; }
  // The distinct queries, in the order given (duplicates removed).
  std::vector<std::string> queries() const;

 private:
  struct Query;
  Matcher(MatchMode mode, std::vector<std::shared_ptr<const Query>> queries)
      : mode_(mode), queries_(std::move(queries)) {}

  MatchMode mode_ = MatchMode::kExact;
  std::vector<std::shared_ptr<const Query>> queries_;  // immutable, shared by copies
};

}  // namespace sf::search
