#include "search/clip_planner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace sf::search {
namespace {

using Words = std::vector<std::string>;

Match match(int input, double start, double end, Words words = {"w"}) {
  Match m;
  m.input = input;
  m.start = start;
  m.end = end;
  m.words = std::move(words);
  m.query = "q";
  return m;
}

ClipOptions options(double before, double after, double gap) {
  ClipOptions o;
  o.padding_before = before;
  o.padding_after = after;
  o.merge_gap = gap;
  return o;
}

const std::vector<double> kLong = {1000.0, 1000.0, 1000.0};

TEST(ClipValidate, DefaultsAreValid) { EXPECT_TRUE(validate(ClipOptions{}).ok()); }

TEST(ClipValidate, ZeroPaddingAndGapAreValid) { EXPECT_TRUE(validate(options(0, 0, 0)).ok()); }

TEST(ClipValidate, ErrorsNameTheFlag) {
  struct Case {
    ClipOptions o;
    std::string flag;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<Case> cases = {
      {options(-1, 1, 2), "--padding-before"},
      {options(1, -0.5, 2), "--padding-after"},
      {options(1, 1, -1), "--merge-gap"},
      {options(nan, 1, 2), "--padding-before"},
      {options(1, 1, std::numeric_limits<double>::infinity()), "--merge-gap"},
  };
  ClipOptions zero_len;
  zero_len.max_length = 0;
  cases.push_back({zero_len, "--max-length"});
  ClipOptions neg_len;
  neg_len.max_length = -3;
  cases.push_back({neg_len, "--max-length"});
  ClipOptions zero_clips;
  zero_clips.max_clips = 0;
  cases.push_back({zero_clips, "--max-clips"});
  ClipOptions neg_clips;
  neg_clips.max_clips = -1;
  cases.push_back({neg_clips, "--max-clips"});
  for (const Case& c : cases) {
    Status s = validate(c.o);
    ASSERT_FALSE(s.ok()) << c.flag;
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_EQ(s.message().rfind(c.flag, 0), 0u) << s.message();
  }
  EXPECT_EQ(validate(options(-1, 1, 2)).message(),
            "--padding-before must be a number >= 0, got -1");
}

TEST(PlanClips, PadsEachMatch) {
  auto clips = plan_clips({match(0, 10.0, 11.0, {"hello"})}, kLong, options(1.5, 0.5, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].input, 0);
  EXPECT_DOUBLE_EQ(clips[0].start, 8.5);
  EXPECT_DOUBLE_EQ(clips[0].end, 11.5);
  EXPECT_DOUBLE_EQ(clips[0].length(), 3.0);
  EXPECT_EQ(clips[0].words, (Words{"hello"}));
}

TEST(PlanClips, ClampsAtZero) {
  auto clips = plan_clips({match(0, 0.3, 0.9)}, kLong, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 0.0);
  EXPECT_DOUBLE_EQ(clips[0].end, 1.9);
}

TEST(PlanClips, ClampsAtDuration) {
  const std::vector<double> durations = {20.0};
  auto clips = plan_clips({match(0, 19.0, 19.6)}, durations, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 18.0);
  EXPECT_DOUBLE_EQ(clips[0].end, 20.0);
}

TEST(PlanClips, UnknownDurationMeansNoUpperClamp) {
  const std::vector<double> durations = {0.0, std::nan(""), -1.0};
  auto clips = plan_clips({match(0, 50, 51), match(1, 50, 51), match(2, 50, 51), match(3, 50, 51)},
                          durations, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 4u);
  for (const Clip& c : clips) EXPECT_DOUBLE_EQ(c.end, 52.0) << c.input;
}

TEST(PlanClips, MatchPastTheKnownEndIsDropped) {
  const std::vector<double> durations = {10.0};
  auto clips = plan_clips({match(0, 12, 13), match(0, 5, 6)}, durations, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 4.0);
}

TEST(PlanClips, GapEqualToMergeGapMerges) {
  // Padded: [9, 12] and [14, 17]: the gap is exactly 2.
  auto clips =
      plan_clips({match(0, 10, 11, {"a"}), match(0, 15, 16, {"b"})}, kLong, options(1, 1, 2));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 9.0);
  EXPECT_DOUBLE_EQ(clips[0].end, 17.0);
  EXPECT_EQ(clips[0].words, (Words{"a", "b"}));
}

TEST(PlanClips, GapEqualToMergeGapMergesDespiteRounding) {
  // 0.1 + 0.2 is not exactly 0.3 in binary; the gap is still "0.3".
  auto clips = plan_clips({match(0, 1.0, 1.1), match(0, 1.4, 1.5)}, kLong, options(0, 0, 0.3));
  EXPECT_EQ(clips.size(), 1u);
}

TEST(PlanClips, GapJustAboveMergeGapDoesNotMerge) {
  auto clips =
      plan_clips({match(0, 10, 11, {"a"}), match(0, 15.01, 16, {"b"})}, kLong, options(1, 1, 2));
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_DOUBLE_EQ(clips[0].end, 12.0);
  EXPECT_DOUBLE_EQ(clips[1].start, 14.01);
  EXPECT_EQ(clips[0].words, (Words{"a"}));
  EXPECT_EQ(clips[1].words, (Words{"b"}));
}

TEST(PlanClips, OverlappingClipsMergeWithZeroGap) {
  auto clips = plan_clips({match(0, 10, 11), match(0, 12, 13)}, kLong, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 9.0);
  EXPECT_DOUBLE_EQ(clips[0].end, 14.0);
}

TEST(PlanClips, NoMergingAcrossInputs) {
  auto clips = plan_clips({match(0, 10, 11), match(1, 10.5, 11.5)}, kLong, options(1, 1, 5));
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].input, 0);
  EXPECT_EQ(clips[1].input, 1);
}

TEST(PlanClips, OrderedByInputThenTimeWhateverTheMatchOrder) {
  std::vector<Match> matches = {match(2, 5, 6, {"c"}), match(0, 30, 31, {"b"}),
                                match(1, 1, 2, {"x"}), match(0, 3, 4, {"a"})};
  auto clips = plan_clips(matches, kLong, options(0.5, 0.5, 0));
  ASSERT_EQ(clips.size(), 4u);
  EXPECT_EQ(clips[0].input, 0);
  EXPECT_EQ(clips[0].words, (Words{"a"}));
  EXPECT_EQ(clips[1].input, 0);
  EXPECT_EQ(clips[1].words, (Words{"b"}));
  EXPECT_EQ(clips[2].input, 1);
  EXPECT_EQ(clips[3].input, 2);
}

TEST(PlanClips, MergedWordsInTimeOrderEvenIfMatchesAreNot) {
  auto clips = plan_clips({match(0, 12, 13, {"second"}), match(0, 10, 11, {"first"})}, kLong,
                          options(1, 1, 2));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].words, (Words{"first", "second"}));
}

TEST(PlanClips, SameWordsFoundByTwoQueriesAreListedOnce) {
  // "new york city" [0, 3) contains "york" [1, 2); "new york" overlaps its start.
  std::vector<Match> matches = {match(0, 0, 3, {"new", "york", "city"}), match(0, 1, 2, {"york"}),
                                match(0, 0, 2, {"new", "york"})};
  auto clips = plan_clips(matches, kLong, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].words, (Words{"new", "york", "city"}));
}

TEST(PlanClips, PartlyOverlappingMatchesAddOnlyNewWords) {
  std::vector<Match> matches = {match(0, 0, 2, {"hello", "world"}),
                                match(0, 1, 3, {"world", "peace"})};
  auto clips = plan_clips(matches, kLong, options(0, 0, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].words, (Words{"hello", "world", "peace"}));
}

TEST(PlanClips, IgnoresUnusableMatches) {
  std::vector<Match> matches = {match(-1, 1, 2), match(0, std::nan(""), 2),
                                match(0, 1, std::numeric_limits<double>::infinity()),
                                match(0, 5, 4, {"backwards"})};
  auto clips = plan_clips(matches, kLong, options(1, 1, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 4.0);
  EXPECT_DOUBLE_EQ(clips[0].end, 6.0);  // the backwards match ends at its start
  EXPECT_EQ(clips[0].words, (Words{"backwards"}));
}

TEST(PlanClips, InstantMatchNeedsPadding) {
  EXPECT_TRUE(plan_clips({match(0, 5, 5)}, kLong, options(0, 0, 0)).empty());
  auto clips = plan_clips({match(0, 5, 5)}, kLong, options(0, 0.25, 0));
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].end, 5.25);
}

TEST(PlanClips, NoMatchesNoClips) { EXPECT_TRUE(plan_clips({}, kLong, ClipOptions{}).empty()); }

TEST(PlanClips, MaxClipsKeepsTheFirstInOrder) {
  ClipOptions o = options(0, 0, 0);
  o.max_clips = 2;
  auto clips = plan_clips({match(1, 0, 1), match(0, 20, 21), match(0, 10, 11)}, kLong, o);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].input, 0);
  EXPECT_DOUBLE_EQ(clips[0].start, 10.0);
  EXPECT_EQ(clips[1].input, 0);
  EXPECT_DOUBLE_EQ(clips[1].start, 20.0);
}

TEST(PlanClips, MaxClipsAboveCountKeepsAll) {
  ClipOptions o = options(0, 0, 0);
  o.max_clips = 10;
  EXPECT_EQ(plan_clips({match(0, 0, 1), match(0, 5, 6)}, kLong, o).size(), 2u);
}

TEST(PlanClips, MaxLengthKeepsClipsThatFitExactly) {
  ClipOptions o = options(0, 0, 0);
  o.max_length = 4.0;
  // Three 2 s clips: the first two fill the cap exactly, the third has 0 s left.
  auto clips = plan_clips({match(0, 0, 2), match(0, 10, 12), match(0, 20, 22)}, kLong, o);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_DOUBLE_EQ(clips[1].end, 12.0);
}

TEST(PlanClips, MaxLengthShortensTheClipThatCrossesTheCap) {
  ClipOptions o = options(1, 1, 0);
  o.max_length = 6.0;
  // Padded clips: [9, 12] (3 s), then [19, 23] (4 s) merged from matches
  // ending at 20.5 and 22.
  std::vector<Match> matches = {match(0, 20, 20.5, {"one"}), match(0, 21, 22, {"two"}),
                                match(0, 10, 11, {"zero"})};
  auto clips = plan_clips(matches, kLong, o);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_DOUBLE_EQ(clips[0].length(), 3.0);
  EXPECT_DOUBLE_EQ(clips[1].start, 19.0);
  EXPECT_DOUBLE_EQ(clips[1].end, 22.0);  // 3 s left of the cap
  // "one" ends at 20.5 inside the shortened clip; "two" ends at 22, still inside.
  EXPECT_EQ(clips[1].words, (Words{"one", "two"}));
  double total = 0;
  for (const Clip& c : clips) total += c.length();
  EXPECT_NEAR(total, 6.0, 1e-9);
}

TEST(PlanClips, ShortenedClipListsOnlyMatchesThatEndInside) {
  ClipOptions o = options(0, 0, 5);
  o.max_length = 2.0;
  auto clips = plan_clips({match(0, 0, 1, {"in"}), match(0, 1.5, 3, {"out"})}, kLong, o);
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].end, 2.0);
  EXPECT_EQ(clips[0].words, (Words{"in"}));
}

TEST(PlanClips, ClipIsDroppedWhenLessThanHalfASecondRemains) {
  ClipOptions o = options(0, 0, 0);
  o.max_length = 2.4;
  auto clips = plan_clips({match(0, 0, 2), match(0, 10, 11), match(0, 20, 20.3)}, kLong, o);
  ASSERT_EQ(clips.size(), 1u);  // 0.4 s left: the second is dropped, and nothing after it
  EXPECT_DOUBLE_EQ(clips[0].end, 2.0);
}

TEST(PlanClips, ClipIsShortenedWhenExactlyHalfASecondRemains) {
  ClipOptions o = options(0, 0, 0);
  o.max_length = 2.5;
  // The second clip is [10, 11], merged from touching matches ending at 10.4 and 11.
  auto clips = plan_clips(
      {match(0, 0, 2), match(0, 10, 10.4, {"kept"}), match(0, 10.4, 11, {"cut"})}, kLong, o);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_DOUBLE_EQ(clips[1].start, 10.0);
  EXPECT_DOUBLE_EQ(clips[1].end, 10.5);
  EXPECT_EQ(clips[1].words, (Words{"kept"}));
}

TEST(PlanClips, ClipIsDroppedWhenNoMatchWouldRemainInside) {
  ClipOptions o = options(2, 0, 0);
  o.max_length = 5.0;
  // Clips [0, 4] and [8, 11]: 1 s remains, and the second clip shortened to
  // [8, 9] would end before its word starts.
  auto clips = plan_clips({match(0, 2, 4), match(0, 10, 11)}, kLong, o);
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 0.0);
}

TEST(PlanClips, MaxLengthAppliesAfterMaxClipsAndMerging) {
  ClipOptions o = options(0.5, 0.5, 1);
  o.max_length = 100;
  o.max_clips = 1;
  auto clips = plan_clips({match(0, 1, 2), match(0, 3, 4), match(0, 50, 51)}, kLong, o);
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_DOUBLE_EQ(clips[0].start, 0.5);
  EXPECT_DOUBLE_EQ(clips[0].end, 4.5);
}

}  // namespace
}  // namespace sf::search
