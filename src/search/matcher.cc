#include "search/matcher.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "search/normalize.h"

namespace sf::search {

struct Matcher::Query {
  std::string text;                 // as given
  std::vector<std::string> tokens;  // normalized tokens, or the regex pieces
  std::vector<std::unique_ptr<const re2::RE2>> regexes;  // regex mode only, one per token
};

namespace {

// One comparable unit of a transcript: a token (exact/prefix) or a whole
// normalized word (regex), with the word it came from.
struct Token {
  std::string text;
  int word = 0;
  bool word_start = false;
  bool word_end = false;
};

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (j > i) pieces.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return pieces;
}

// Runs of tokens in which consecutive tokens are consecutive in speech. A
// word with unusable times ends a run, so no phrase is matched across it.
std::vector<std::vector<Token>> token_runs(std::span<const asr::Word> words, MatchMode mode) {
  std::vector<std::vector<Token>> runs(1);
  for (std::size_t w = 0; w < words.size(); ++w) {
    const asr::Word& word = words[w];
    if (!std::isfinite(word.start) || !std::isfinite(word.end)) {
      if (!runs.back().empty()) runs.emplace_back();
      continue;
    }
    std::vector<std::string> parts;
    if (mode == MatchMode::kRegex) {
      std::string whole = normalize_word(word.text);
      if (!whole.empty()) parts.push_back(std::move(whole));
    } else {
      parts = tokenize(word.text);
    }
    for (std::size_t p = 0; p < parts.size(); ++p) {
      runs.back().push_back(
          Token{std::move(parts[p]), static_cast<int>(w), p == 0, p + 1 == parts.size()});
    }
  }
  return runs;
}

// RE2 runs in time linear in the word's length whatever the pattern, so a
// user's pattern cannot hang a search. Text and patterns are UTF-8 (words
// are normalized, patterns folded), so '.' is one character of any script.
std::unique_ptr<const re2::RE2> compile_regex(const std::string& pattern) {
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_case_sensitive(false);
  options.set_log_errors(false);
  return std::make_unique<const re2::RE2>(fold_pattern(pattern), options);
}

}  // namespace

Result<MatchMode> parse_match_mode(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (lower == "exact") return MatchMode::kExact;
  if (lower == "prefix") return MatchMode::kPrefix;
  if (lower == "regex") return MatchMode::kRegex;
  return invalid_argument(
      fmt::format("unknown match mode \"{}\" (expected exact, prefix or regex)", text));
}

std::string_view match_mode_name(MatchMode mode) {
  switch (mode) {
    case MatchMode::kExact:
      return "exact";
    case MatchMode::kPrefix:
      return "prefix";
    case MatchMode::kRegex:
      return "regex";
  }
  return "unknown";
}

Result<Matcher> Matcher::create(std::vector<std::string> queries, MatchMode mode) {
  if (queries.empty()) return invalid_argument("no search words or phrases given");
  std::vector<std::shared_ptr<const Query>> compiled;
  std::set<std::vector<std::string>> seen;
  for (std::string& text : queries) {
    auto q = std::make_shared<Query>();
    q->tokens = mode == MatchMode::kRegex ? split_whitespace(text) : tokenize(text);
    if (q->tokens.empty()) {
      return invalid_argument(fmt::format("search query \"{}\" contains no words", text));
    }
    if (mode == MatchMode::kRegex) {
      for (const std::string& piece : q->tokens) {
        std::unique_ptr<const re2::RE2> re = compile_regex(piece);
        if (!re->ok()) {
          return invalid_argument(
              fmt::format("invalid regex \"{}\" in query \"{}\": {}", piece, text, re->error()));
        }
        q->regexes.push_back(std::move(re));
      }
    }
    if (!seen.insert(q->tokens).second) continue;
    q->text = std::move(text);
    compiled.push_back(std::move(q));
  }
  return Matcher(mode, std::move(compiled));
}

std::vector<std::string> Matcher::queries() const {
  std::vector<std::string> out;
  out.reserve(queries_.size());
  for (const auto& q : queries_) out.push_back(q->text);
  return out;
}

std::vector<Match> Matcher::find(int input, std::span<const asr::Word> words) const {
  struct Found {
    Match match;
    std::size_t query = 0;
  };
  std::vector<Found> found;
  for (const std::vector<Token>& run : token_runs(words, mode_)) {
    for (std::size_t s = 0; s < run.size(); ++s) {
      if (!run[s].word_start) continue;
      for (std::size_t qi = 0; qi < queries_.size(); ++qi) {
        const Query& q = *queries_[qi];
        const std::size_t n = q.tokens.size();
        if (s + n > run.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < n && ok; ++i) {
          const std::string& t = run[s + i].text;
          switch (mode_) {
            case MatchMode::kExact:
              ok = t == q.tokens[i];
              break;
            case MatchMode::kPrefix:
              ok = t.starts_with(q.tokens[i]);
              break;
            case MatchMode::kRegex:
              ok = re2::RE2::FullMatch(t, *q.regexes[i]);
              break;
          }
        }
        if (!ok) continue;
        if (mode_ != MatchMode::kPrefix && !run[s + n - 1].word_end) continue;

        Match m;
        m.input = input;
        m.query = q.text;
        m.evidence.one_best = true;
        m.evidence.word_probability = 1.0f;
        int last_word = -1;
        for (std::size_t i = s; i < s + n; ++i) {
          if (run[i].word == last_word) continue;
          last_word = run[i].word;
          const asr::Word& w = words[static_cast<std::size_t>(last_word)];
          m.words.push_back(w.text);
          m.evidence.word_probability = std::min(m.evidence.word_probability, w.probability);
        }
        const asr::Word& first = words[static_cast<std::size_t>(run[s].word)];
        const asr::Word& last = words[static_cast<std::size_t>(last_word)];
        m.start = first.start;
        m.end = std::max({last.end, last.start, first.start});
        found.push_back(Found{std::move(m), qi});
      }
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    if (a.match.start != b.match.start) return a.match.start < b.match.start;
    if (a.match.end != b.match.end) return a.match.end < b.match.end;
    return a.query < b.query;
  });
  std::vector<Match> out;
  out.reserve(found.size());
  for (Found& f : found) out.push_back(std::move(f.match));
  return out;
}

}  // namespace sf::search
