#include "search/matcher.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace sf::search {
namespace {

using Words = std::vector<std::string>;

// Words spoken one per second: word i spans [i, i + 0.8).
std::vector<asr::Word> spoken(const Words& texts) {
  std::vector<asr::Word> words;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const double t = static_cast<double>(i);
    words.push_back(asr::Word{texts[i], t, t + 0.8, 0.9f});
  }
  return words;
}

Matcher make(std::vector<std::string> queries, MatchMode mode = MatchMode::kExact) {
  auto m = Matcher::create(std::move(queries), mode);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return std::move(m).value();
}

TEST(ParseMatchMode, AcceptsTheThreeModes) {
  EXPECT_EQ(*parse_match_mode("exact"), MatchMode::kExact);
  EXPECT_EQ(*parse_match_mode("prefix"), MatchMode::kPrefix);
  EXPECT_EQ(*parse_match_mode("regex"), MatchMode::kRegex);
  EXPECT_EQ(*parse_match_mode("Prefix"), MatchMode::kPrefix);
  for (MatchMode mode : {MatchMode::kExact, MatchMode::kPrefix, MatchMode::kRegex}) {
    EXPECT_EQ(*parse_match_mode(match_mode_name(mode)), mode);
  }
}

TEST(ParseMatchMode, ErrorNamesTheValue) {
  auto r = parse_match_mode("fuzzy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("\"fuzzy\""), std::string::npos) << r.status().message();
  EXPECT_FALSE(parse_match_mode("").ok());
}

TEST(MatcherCreate, RejectsNoQueries) {
  auto m = Matcher::create({}, MatchMode::kExact);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
}

TEST(MatcherCreate, RejectsQueryWithoutWordsAndNamesIt) {
  auto m = Matcher::create({"hello", "?!"}, MatchMode::kExact);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("\"?!\""), std::string::npos) << m.status().message();
  EXPECT_FALSE(Matcher::create({"   "}, MatchMode::kRegex).ok());
  EXPECT_FALSE(Matcher::create({""}, MatchMode::kPrefix).ok());
}

TEST(MatcherCreate, RejectsInvalidRegexAndNamesIt) {
  auto m = Matcher::create({"ok", "fo(o"}, MatchMode::kRegex);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(m.status().message().find("fo(o"), std::string::npos) << m.status().message();
  EXPECT_FALSE(Matcher::create({"a [b"}, MatchMode::kRegex).ok());
  // The same text is a fine exact query: it is normalized, not compiled.
  EXPECT_TRUE(Matcher::create({"fo(o"}, MatchMode::kExact).ok());
}

TEST(MatcherCreate, DuplicateQueriesAfterNormalizationCountOnce) {
  Matcher m = make({"Hello", "hello!", "HELLO", "world"});
  EXPECT_EQ(m.queries(), (Words{"Hello", "world"}));
  auto found = m.find(0, spoken({"hello", "there"}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].query, "Hello");
}

TEST(MatcherFind, SingleWordEveryOccurrence) {
  Matcher m = make({"cat"});
  auto found = m.find(3, spoken({"The", "cat", "saw", "a", "Cat."}));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].input, 3);
  EXPECT_DOUBLE_EQ(found[0].start, 1.0);
  EXPECT_DOUBLE_EQ(found[0].end, 1.8);
  EXPECT_EQ(found[0].words, (Words{"cat"}));
  EXPECT_EQ(found[0].query, "cat");
  EXPECT_DOUBLE_EQ(found[1].start, 4.0);
  EXPECT_EQ(found[1].words, (Words{"Cat."}));  // original text, not normalized
}

TEST(MatcherFind, ExactModeNeedsWholeWord) {
  Matcher m = make({"cat"});
  EXPECT_TRUE(m.find(0, spoken({"cats", "concat", "scatter"})).empty());
}

TEST(MatcherFind, NormalizationOnBothSides) {
  Matcher m = make({"Don\u2019t", "cafe", "STRASSE"});
  auto found = m.find(0, spoken({"DON'T", "go", "to", "the", "Café,", "Straße"}));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].query, "Don\u2019t");
  EXPECT_EQ(found[1].query, "cafe");
  EXPECT_EQ(found[2].query, "STRASSE");
}

TEST(MatcherFind, PhraseSpansConsecutiveWords) {
  Matcher m = make({"thank you"});
  auto found = m.find(0, spoken({"well", "thank", "you", "all"}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_DOUBLE_EQ(found[0].start, 1.0);
  EXPECT_DOUBLE_EQ(found[0].end, 2.8);
  EXPECT_EQ(found[0].words, (Words{"thank", "you"}));
}

TEST(MatcherFind, PhraseDoesNotSpanOtherWords) {
  Matcher m = make({"thank you"});
  EXPECT_TRUE(m.find(0, spoken({"thank", "all", "of", "you"})).empty());
  EXPECT_TRUE(m.find(0, spoken({"you", "thank"})).empty());
  EXPECT_TRUE(m.find(0, spoken({"thank"})).empty());
}

TEST(MatcherFind, PhraseIgnoresPunctuationBetweenWords) {
  Matcher m = make({"yes, we can!"});
  auto found = m.find(0, spoken({"Yes,", "we", "can."}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].words, (Words{"Yes,", "we", "can."}));
}

TEST(MatcherFind, PunctuationOnlyWordsAreTransparent) {
  Matcher m = make({"wait what"});
  auto found = m.find(0, spoken({"wait", "\u2014", "what"}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].words, (Words{"wait", "what"}));
  EXPECT_DOUBLE_EQ(found[0].start, 0.0);
  EXPECT_DOUBLE_EQ(found[0].end, 2.8);
}

TEST(MatcherFind, HyphenatedWordsMatchBothWays) {
  Matcher spaced = make({"well known"});
  Matcher hyphen = make({"well-known"});
  auto w1 = spoken({"a", "well-known", "fact"});
  auto w2 = spoken({"a", "well", "known", "fact"});
  ASSERT_EQ(spaced.find(0, w1).size(), 1u);
  EXPECT_EQ(spaced.find(0, w1)[0].words, (Words{"well-known"}));
  ASSERT_EQ(hyphen.find(0, w2).size(), 1u);
  EXPECT_EQ(hyphen.find(0, w2)[0].words, (Words{"well", "known"}));
  ASSERT_EQ(hyphen.find(0, w1).size(), 1u);
  // Exact matches cover whole words: a part of a compound is not the word.
  EXPECT_TRUE(make({"known"}).find(0, w1).empty());
  EXPECT_TRUE(make({"well"}).find(0, w1).empty());
}

TEST(MatcherFind, PrefixMode) {
  Matcher m = make({"edit"}, MatchMode::kPrefix);
  auto found = m.find(0, spoken({"Editing", "is", "credited", "to", "editors", "edit"}));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].words, (Words{"Editing"}));
  EXPECT_EQ(found[1].words, (Words{"editors"}));
  EXPECT_EQ(found[2].words, (Words{"edit"}));
}

TEST(MatcherFind, PrefixModePhraseAndCompounds) {
  Matcher m = make({"new yo"}, MatchMode::kPrefix);
  auto found = m.find(0, spoken({"in", "New", "York", "and", "newer", "yogurt", "new", "jersey"}));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].words, (Words{"New", "York"}));
  EXPECT_EQ(found[1].words, (Words{"newer", "yogurt"}));

  auto compound = make({"well"}, MatchMode::kPrefix).find(0, spoken({"well-known"}));
  ASSERT_EQ(compound.size(), 1u);
  EXPECT_EQ(compound[0].words, (Words{"well-known"}));
  // Still anchored at the start of a word.
  EXPECT_TRUE(make({"known"}, MatchMode::kPrefix).find(0, spoken({"well-known"})).empty());
}

TEST(MatcherFind, RegexModeMatchesWholeNormalizedWord) {
  Matcher m = make({"colou?r"}, MatchMode::kRegex);
  auto found = m.find(0, spoken({"Color", "colour,", "colors", "watercolor"}));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].words, (Words{"Color"}));
  EXPECT_EQ(found[1].words, (Words{"colour,"}));
}

TEST(MatcherFind, RegexModeSeesFoldedWords) {
  auto found = make({"caf."}, MatchMode::kRegex).find(0, spoken({"Café"}));
  ASSERT_EQ(found.size(), 1u);
  auto hyphen = make({"well-.*"}, MatchMode::kRegex).find(0, spoken({"well-known", "well"}));
  ASSERT_EQ(hyphen.size(), 1u);
  EXPECT_EQ(hyphen[0].words, (Words{"well-known"}));
}

TEST(MatcherFind, RegexModeMultiToken) {
  Matcher m = make({"(big|huge) (deal|thing)s?"}, MatchMode::kRegex);
  auto found = m.find(0, spoken({"a", "BIG", "deal", "and", "huge", "things", "big", "dog"}));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].words, (Words{"BIG", "deal"}));
  EXPECT_EQ(found[1].words, (Words{"huge", "things"}));
}

TEST(MatcherFind, MultipleQueriesSortedByTime) {
  Matcher m = make({"dog", "cat"});
  auto found = m.find(0, spoken({"cat", "dog", "cat"}));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].query, "cat");
  EXPECT_EQ(found[1].query, "dog");
  EXPECT_EQ(found[2].query, "cat");
  for (std::size_t i = 1; i < found.size(); ++i) {
    EXPECT_LT(found[i - 1].start, found[i].start);
  }
}

TEST(MatcherFind, OverlappingMatchesAreAllReported) {
  Matcher m = make({"new york city", "york", "new york"});
  auto found = m.find(0, spoken({"new", "york", "city"}));
  ASSERT_EQ(found.size(), 3u);
  // Sorted by start, then end.
  EXPECT_EQ(found[0].query, "new york");
  EXPECT_EQ(found[1].query, "new york city");
  EXPECT_EQ(found[2].query, "york");
  EXPECT_DOUBLE_EQ(found[2].start, 1.0);
}

TEST(MatcherFind, SelfOverlappingOccurrences) {
  auto found = make({"la la"}).find(0, spoken({"la", "la", "la"}));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_DOUBLE_EQ(found[0].start, 0.0);
  EXPECT_DOUBLE_EQ(found[1].start, 1.0);
}

TEST(MatcherFind, WordWithBadTimesBreaksPhrases) {
  auto words = spoken({"thank", "you", "thank", "you"});
  words[1].end = std::numeric_limits<double>::quiet_NaN();
  auto found = make({"thank you"}).find(0, words);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_DOUBLE_EQ(found[0].start, 2.0);
  EXPECT_TRUE(make({"you"}).find(0, words).size() == 1u);
}

TEST(MatcherFind, WordEndingBeforeItsStartEndsAtItsStart) {
  std::vector<asr::Word> words = {{"hello", 5.0, 4.0, 1.0f}};
  auto found = make({"hello"}).find(0, words);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_DOUBLE_EQ(found[0].start, 5.0);
  EXPECT_DOUBLE_EQ(found[0].end, 5.0);
}

TEST(MatcherFind, EmptyTranscript) { EXPECT_TRUE(make({"x"}).find(0, {}).empty()); }

TEST(MatcherFind, CopiesShareCompiledQueries) {
  std::optional<Matcher> a = make({"fo+"}, MatchMode::kRegex);
  const Matcher b = *a;
  a.reset();  // the copy must not depend on the original
  EXPECT_EQ(b.find(1, spoken({"fooo"})).size(), 1u);
  EXPECT_EQ(b.mode(), MatchMode::kRegex);
}

TEST(MatcherFind, ExactModeFoldsEveryScript) {
  auto words = spoken({"Die", "Straße", "nach", "Αθήνα", "und", "МОСКВА", "İstanbul"});
  EXPECT_EQ(make({"strasse"}).find(0, words).size(), 1u);
  EXPECT_EQ(make({"STRASSE"}).find(0, words).size(), 1u);
  EXPECT_EQ(make({"ΑΘΗΝΑ"}).find(0, words).size(), 1u);
  EXPECT_EQ(make({"москва"}).find(0, words).size(), 1u);
  EXPECT_EQ(make({"istanbul"}).find(0, words).size(), 1u);
  auto phrase = make({"strasse nach αθηνα"}).find(0, words);
  ASSERT_EQ(phrase.size(), 1u);
  EXPECT_EQ(phrase[0].words, (Words{"Straße", "nach", "Αθήνα"}));
}

TEST(MatcherFind, RegexModeIsUnicodeCaseInsensitive) {
  auto words = spoken({"МОСКВА", "Αθήνα", "STRASSE", "İSTANBUL", "ılık"});
  auto moscow = make({"москва"}, MatchMode::kRegex).find(0, words);
  ASSERT_EQ(moscow.size(), 1u);
  EXPECT_EQ(moscow[0].words, (Words{"МОСКВА"}));
  EXPECT_EQ(make({"ΑΘΗΝΑ"}, MatchMode::kRegex).find(0, words).size(), 1u);
  EXPECT_EQ(make({"αθ.να"}, MatchMode::kRegex).find(0, words).size(), 1u);  // '.' is one letter
  EXPECT_EQ(make({"straße"}, MatchMode::kRegex).find(0, words).size(), 1u);
  EXPECT_EQ(make({"İstanbul"}, MatchMode::kRegex).find(0, words).size(), 1u);
  EXPECT_EQ(make({"ilik"}, MatchMode::kRegex).find(0, words).size(), 1u);
  EXPECT_EQ(make({"\\p{Cyrillic}+"}, MatchMode::kRegex).find(0, words).size(), 1u);
}

TEST(MatcherFind, PathologicalRegexRunsInLinearTime) {
  // Catastrophic for a backtracking engine: (a+)+$ against "aaa...ab" tries
  // every way of splitting the a's. RE2 answers in one pass.
  const std::string long_word = std::string(100000, 'a') + "b";
  auto words = spoken({long_word, std::string(100000, 'a')});
  Matcher m = make({"(a+)+$"}, MatchMode::kRegex);
  auto found = m.find(0, words);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_DOUBLE_EQ(found[0].start, 1.0);
  EXPECT_EQ(make({"(x+x+)+y"}, MatchMode::kRegex).find(0, spoken({std::string(50000, 'x')})).size(), 0u);
}

TEST(MatcherCreate, BacktrackingOnlySyntaxIsAClearError) {
  for (const char* pattern : {"(a)\\1", "foo(?=bar)", "(?<!x)y"}) {
    auto m = Matcher::create({pattern}, MatchMode::kRegex);
    ASSERT_FALSE(m.ok()) << pattern;
    EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
    EXPECT_NE(m.status().message().find(pattern), std::string::npos) << m.status().message();
  }
}

}  // namespace
}  // namespace sf::search
