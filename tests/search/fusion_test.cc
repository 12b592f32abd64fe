#include "search/fusion.h"

#include <gtest/gtest.h>

#include "asr/sphinx/letter_to_sound.h"

namespace sf::search {
namespace {

asr::TargetHit spotted(const std::string& q, double t0, double t1, float score, int phones, float post = 0) {
  asr::TargetHit h;
  h.query = q;
  h.start = t0;
  h.end = t1;
  h.spotted = true;
  h.spot_score = score;
  h.phones = phones;
  h.posterior = post;
  return h;
}

Match one_best(const std::string& q, double t0, double t1, float p = 0.9f) {
  Match m;
  m.query = q;
  m.start = t0;
  m.end = t1;
  m.words = {q};
  m.evidence.one_best = true;
  m.evidence.word_probability = p;
  return m;
}

TEST(FusionTest, TargetPhraseIsTheNormalizedTokens) {
  EXPECT_EQ(target_phrase("Well-Known"), "well known");
  EXPECT_EQ(target_phrase("  Europe, "), "europe");
  EXPECT_EQ(target_phrase("?!"), "");
  auto m = Matcher::create({"Budget", "budget", "the council"}, MatchMode::kExact);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(target_phrases(*m), (std::vector<std::string>{"budget", "the council"}));
  auto p = Matcher::create({"budget"}, MatchMode::kPrefix);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(target_phrases(*p).empty());  // a prefix names no words to listen for
}

TEST(FusionTest, ConfidenceIsMonotonicInEveryKindOfEvidence) {
  Evidence none;
  Evidence e;
  e.spotted = true;
  e.phones = 6;
  e.phone_seconds = 0.08f;  // as long as people say it
  float last = confidence(none);
  for (float s = -60; s <= 0; s += 5) {
    e.spot_score = s;
    const float c = confidence(e);
    EXPECT_GE(c, last) << s;
    last = c;
  }
  for (float p = 0; p <= 1.0f; p += 0.1f) {
    e.posterior = p;
    const float c = confidence(e);
    EXPECT_GE(c, last) << p;
    last = c;
  }
  for (float p = 0; p <= 1.0f; p += 0.1f) {
    e.biased_posterior = p;
    const float c = confidence(e);
    EXPECT_GE(c, last) << p;
    last = c;
  }
  // The longer the detection, the better, up to how long people speak.
  e.phone_seconds = 0.03f;
  float shortest = confidence(e);
  EXPECT_LT(shortest, last);
  for (float d = 0.03f; d <= 0.12f; d += 0.01f) {
    e.phone_seconds = d;
    const float c = confidence(e);
    EXPECT_GE(c, shortest) << d;
    shortest = c;
  }
  EXPECT_FLOAT_EQ(shortest, last);
  e.one_best = true;
  EXPECT_GE(confidence(e), last);
  for (float c : {confidence(none), confidence(e)}) {
    EXPECT_GE(c, 0.0f);
    EXPECT_LE(c, 1.0f);
  }
}

TEST(FusionTest, TheBiasedDecodeCountsLessThanTheNormalLattice) {
  // The biased decode was pushed towards the targets, so the same
  // posterior there is weaker evidence than in the normal decode; alone,
  // a sure one still passes the default threshold and a doubtful one not.
  Evidence normal, biased;
  normal.posterior = biased.biased_posterior = 0.9f;
  EXPECT_LT(confidence(biased), confidence(normal));
  EXPECT_GT(confidence(biased), kDefaultMinConfidence);
  biased.biased_posterior = 0.3f;
  EXPECT_LT(confidence(biased), kDefaultMinConfidence);
  // With a fair spotter score, a doubtful one does.
  biased.spotted = true;
  biased.phones = 6;
  biased.spot_score = -28;
  EXPECT_GT(confidence(biased), kDefaultMinConfidence);
}

TEST(FusionTest, OneBestAloneIsAboveTheDefaultThresholdAndNothingIsBelowIt) {
  Evidence e;
  e.one_best = true;
  e.word_probability = 0;
  EXPECT_GT(confidence(e), kDefaultMinConfidence);
  EXPECT_LT(confidence(Evidence{}), kDefaultMinConfidence);
}

TEST(FusionTest, ThresholdDependsOnLengthInPhones) {
  // The same per-phone spotter score counts for more on a longer word: a
  // short word is easily imitated by noise.
  Evidence shorter, longer;
  shorter.spotted = longer.spotted = true;
  shorter.spot_score = longer.spot_score = -15;
  shorter.phones = 3;
  longer.phones = 9;
  EXPECT_LT(confidence(shorter), confidence(longer));
}

TEST(FusionTest, ADetectionSqueezedIntoTooLittleTimeCountsLess) {
  // Five phones in 0.15 s is three frames a phone, the least the spotter's
  // phone models allow: how noise imitates a word. Five in 0.35 s is how
  // people say one.
  const std::vector<std::string> queries = {"europe"};
  std::vector<asr::TargetHit> hits = {spotted("europe", 1.0, 1.15, -18, 5), spotted("europe", 4.0, 4.35, -18, 5)};
  auto out = fuse(0, {}, hits, queries, 0.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].evidence.phone_seconds, 0.03, 1e-6);
  EXPECT_NEAR(out[1].evidence.phone_seconds, 0.07, 1e-6);
  EXPECT_LT(out[0].confidence, kDefaultMinConfidence);
  EXPECT_GT(out[1].confidence, kDefaultMinConfidence);
  // Lasting longer than people speak earns nothing more.
  Evidence slow = out[1].evidence;
  slow.phone_seconds = 0.2f;
  EXPECT_FLOAT_EQ(confidence(slow), out[1].confidence);
  // A one-best match has its times from the transcript, not the spotter.
  Evidence heard = out[0].evidence;
  heard.one_best = true;
  Evidence heard_longer = heard;
  heard_longer.phone_seconds = 0.07f;
  EXPECT_FLOAT_EQ(confidence(heard), confidence(heard_longer));
}

TEST(FusionTest, ADetectionIsJudgedAgainstTheLengthItsPhonesAreExpectedToLast) {
  // The same 45 ms a phone: quick enough for a word of short phones the
  // model expects to last 0.25 s in all, far too quick for one of long
  // phones it expects to last 0.5 s. The hits carry the expected length,
  // and the fused evidence keeps it.
  const std::vector<std::string> queries = {"europe", "teachers"};
  asr::TargetHit quick = spotted("europe", 1.0, 1.225, -18, 5);
  asr::TargetHit slow = spotted("teachers", 3.0, 3.225, -18, 5);
  quick.expected_seconds = 0.25f;
  slow.expected_seconds = 0.5f;
  auto out = fuse(0, {}, std::vector<asr::TargetHit>{quick, slow}, queries, 0.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0].evidence.expected_seconds, 0.25f);
  EXPECT_NEAR(out[0].evidence.phone_seconds, 0.045, 1e-6);
  EXPECT_GT(out[0].confidence, kDefaultMinConfidence);
  EXPECT_LT(out[1].confidence, kDefaultMinConfidence);
  EXPECT_LT(out[1].confidence, confidence(Evidence{}));  // below no evidence at all
  // At or past 0.8 of the expected length nothing is taken off, and more
  // earns nothing.
  Evidence e = out[1].evidence;
  e.phone_seconds = 0.08f;
  const float at = confidence(e);
  e.phone_seconds = 0.2f;
  EXPECT_FLOAT_EQ(confidence(e), at);
  e.phone_seconds = 0.07f;
  EXPECT_LT(confidence(e), at);
  // Without an expected length (a model whose phone lengths are unknown) the
  // fixed 70 ms a phone applies: 45 ms is squeezed.
  Evidence unknown = out[0].evidence;
  unknown.expected_seconds = 0;
  EXPECT_LT(confidence(unknown), kDefaultMinConfidence);
}

TEST(FusionTest, ACandidateTheOneBestLacksIsTrustedMoreInModerateNoise) {
  // A spotter-only detection, as long as people say the word.
  Evidence clean;
  clean.spotted = true;
  clean.phones = 5;
  clean.spot_score = -30;
  clean.phone_seconds = 0.07f;
  clean.expected_seconds = 0.35f;
  auto at = [&](float snr, float spread) {
    Evidence e = clean;
    e.snr_db = snr;
    e.noise_spread_db = spread;
    return confidence(e);
  };
  // In clean audio the one-best transcript holds nearly every word: a
  // candidate it lacks is held below the default threshold...
  EXPECT_LT(confidence(clean), kDefaultMinConfidence);
  EXPECT_FLOAT_EQ(at(45, 0.5f), confidence(clean));
  // ...in steady noise at 15 dB it is kept; voices or music in the
  // background imitate words more, so less is added there.
  EXPECT_GT(at(15, 2), kDefaultMinConfidence);
  EXPECT_GT(at(15, 2), at(15, 5));
  EXPECT_GT(at(15, 5), confidence(clean));
  // More noise makes all evidence weaker: nothing is added at 12 dB and
  // below, and the trust rises with the SNR up to 15 dB.
  EXPECT_FLOAT_EQ(at(12, 2), confidence(clean));
  EXPECT_FLOAT_EQ(at(8, 6), confidence(clean));
  float last = at(12, 2);
  for (float snr = 12; snr <= 29; snr += 0.5f) {
    EXPECT_GE(at(snr, 2), last) << snr;
    EXPECT_GE(at(snr, 2), at(snr, 6)) << snr;
    last = at(snr, 2);
  }
  // A one-best match is not affected.
  Evidence heard;
  heard.one_best = true;
  heard.word_probability = 0.5f;
  Evidence heard_in_noise = heard;
  heard_in_noise.snr_db = 15;
  heard_in_noise.noise_spread_db = 2;
  EXPECT_FLOAT_EQ(confidence(heard_in_noise), confidence(heard));
}

TEST(FusionTest, TheCandidateCarriesTheNoiseWhereItWasHeard) {
  const std::vector<std::string> queries = {"europe"};
  asr::TargetHit quiet = spotted("europe", 1.0, 1.35, -30, 5);
  asr::TargetHit noisy = spotted("europe", 1.05, 1.4, -32, 5);
  noisy.snr_db = 14;
  noisy.noise_spread_db = 2.5f;
  asr::TargetHit elsewhere = spotted("europe", 6.0, 6.35, -30, 5);
  auto out = fuse(0, {}, std::vector<asr::TargetHit>{quiet, noisy, elsewhere}, queries, 0.0);
  ASSERT_EQ(out.size(), 2u);
  // Hits of one place: the noisier measure is the candidate's.
  EXPECT_FLOAT_EQ(out[0].evidence.snr_db, 14.0f);
  EXPECT_FLOAT_EQ(out[0].evidence.noise_spread_db, 2.5f);
  EXPECT_FLOAT_EQ(out[1].evidence.snr_db, asr::TargetHit::kCleanSnrDb);
  EXPECT_GT(out[0].confidence, out[1].confidence);
}

TEST(FusionTest, HitJoinsTheOneBestMatchAtTheSamePlace) {
  const std::vector<std::string> queries = {"Budget"};
  std::vector<Match> m = {one_best("Budget", 1.0, 1.5)};
  std::vector<asr::TargetHit> hits = {spotted("budget", 1.1, 1.6, -10, 6, 0.8f)};
  auto out = fuse(0, m, hits, queries, 0.0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0].start, 1.0);  // the one-best times
  EXPECT_TRUE(out[0].evidence.one_best);
  EXPECT_TRUE(out[0].evidence.spotted);
  EXPECT_FLOAT_EQ(out[0].evidence.posterior, 0.8f);
  EXPECT_EQ(out[0].query, "Budget");
  EXPECT_GT(out[0].confidence, confidence(m[0].evidence));
}

TEST(FusionTest, HitAloneIsANewCandidateFilteredByConfidence) {
  const std::vector<std::string> queries = {"Europe", "the council"};
  std::vector<asr::TargetHit> hits = {
      spotted("europe", 2.0, 2.4, -5, 5, 0.9f),      // strong: kept
      spotted("europe", 7.0, 7.3, -55, 5),           // noise: dropped
      spotted("the council", 4.0, 4.8, -8, 8, 0.5f),  // a phrase is searched as a phrase
      spotted("zebra", 5.0, 5.5, -1, 5, 1.0f),        // not a query: ignored
  };
  auto all = fuse(3, {}, hits, queries, 0.0);
  EXPECT_EQ(all.size(), 3u);
  auto kept = fuse(3, {}, hits, queries, kDefaultMinConfidence);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].query, "Europe");
  EXPECT_EQ(kept[0].input, 3);
  EXPECT_EQ(kept[0].words, (std::vector<std::string>{"europe"}));
  EXPECT_EQ(kept[1].query, "the council");
  EXPECT_EQ(kept[1].words, (std::vector<std::string>{"the", "council"}));
  EXPECT_FALSE(kept[1].evidence.one_best);
}

TEST(FusionTest, OverlappingHitsOfOneQueryAreOneCandidateWithTheBestTimes) {
  const std::vector<std::string> queries = {"europe"};
  std::vector<asr::TargetHit> hits = {spotted("europe", 2.0, 2.5, -30, 5), spotted("europe", 2.1, 2.4, -4, 5),
                                      asr::TargetHit{"europe", 2.05, 2.45, 5, false, 0, 0.7f, 0.4f},
                                      asr::TargetHit{"europe", 2.2, 2.3, 5, false, 0, 0.1f, 0.9f}};
  auto out = fuse(0, {}, hits, queries, 0.0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FLOAT_EQ(out[0].evidence.spot_score, -4);
  EXPECT_FLOAT_EQ(out[0].evidence.posterior, 0.7f);
  EXPECT_FLOAT_EQ(out[0].evidence.biased_posterior, 0.9f);  // each kind of evidence at its best
  EXPECT_DOUBLE_EQ(out[0].start, 2.1);  // the best-scoring spotter hit gives the times
}

TEST(FusionTest, DifferentQueriesAtOnePlaceStaySeparate) {
  const std::vector<std::string> queries = {"budget", "budgets"};
  std::vector<Match> m = {one_best("budget", 1.0, 1.5)};
  std::vector<asr::TargetHit> hits = {spotted("budgets", 1.0, 1.6, -20, 7)};
  auto out = fuse(0, m, hits, queries, 0.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].evidence.spotted && out[1].evidence.spotted && out[0].query == out[1].query);
}

TEST(LetterToSoundTest, MapsFlitePhonesToTheModel) {
  EXPECT_EQ(asr::sphinx::map_flite_phone("ax0"), "AH");
  EXPECT_EQ(asr::sphinx::map_flite_phone("axr"), "ER");
  EXPECT_EQ(asr::sphinx::map_flite_phone("hh"), "HH");
  EXPECT_EQ(asr::sphinx::map_flite_phone("ey1"), "EY");
  EXPECT_FALSE(asr::sphinx::map_flite_phone("pau"));
  EXPECT_FALSE(asr::sphinx::map_flite_phone("xx"));
  EXPECT_FALSE(asr::sphinx::letter_to_sound("r2d2"));
  EXPECT_FALSE(asr::sphinx::letter_to_sound(""));
#if SF_HAVE_FLITE_LTS
  auto p = asr::sphinx::letter_to_sound("okonkwo");
  ASSERT_TRUE(p);
  EXPECT_NE(p->find('K'), std::string::npos) << *p;
#endif
}

}  // namespace
}  // namespace sf::search
