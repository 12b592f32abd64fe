#include "search/phonetic.h"

#include <gtest/gtest.h>

#include "asr/sphinx/letter_to_sound.h"
#include "asr/sphinx/pronunciations.h"

namespace sf::search {
namespace {

using asr::sphinx::phone_id;

Phones phones(std::initializer_list<const char*> names) {
  Phones out;
  for (const char* n : names) out.push_back(phone_id(n));
  return out;
}

uint64_t vowels() { return asr::sphinx::vowel_mask(); }

asr::Word word(const std::string& text, double start, double end) {
  asr::Word w;
  w.text = text;
  w.start = start;
  w.end = end;
  return w;
}

TEST(PhoneticTest, PhoneIdsAreTheModelsPhones) {
  EXPECT_EQ(phone_id("AA"), 0);
  EXPECT_EQ(phone_id("ZH"), 38);
  EXPECT_EQ(phone_id("SIL"), 255);
  EXPECT_EQ(phone_id("ah"), 255);
  EXPECT_TRUE(asr::sphinx::is_vowel(phone_id("ER")));
  EXPECT_TRUE(asr::sphinx::is_vowel(phone_id("OY")));
  EXPECT_FALSE(asr::sphinx::is_vowel(phone_id("T")));
  EXPECT_FALSE(asr::sphinx::is_vowel(255));
}

TEST(PhoneticTest, ClosestRunFindsTheCheapestStretch) {
  // "europe" Y UH R AH P against "your up" Y AO R AH P: one vowel for a vowel.
  const Phones europe = phones({"Y", "UH", "R", "AH", "P"});
  const Phones said = phones({"DH", "AH", "Y", "AO", "R", "AH", "P", "S", "T"});
  size_t b = 99, e = 99;
  EXPECT_DOUBLE_EQ(closest_run(europe, said, vowels(), &b, &e), 0.5);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(e, 7u);
  // A consonant for another costs 1, a missing phone 1, an extra one 1.
  EXPECT_DOUBLE_EQ(closest_run(phones({"B", "AE", "T"}), phones({"P", "AE", "T"}), vowels()), 1.0);
  EXPECT_DOUBLE_EQ(closest_run(phones({"B", "AE", "T"}), phones({"B", "T"}), vowels()), 1.0);
  EXPECT_DOUBLE_EQ(closest_run(phones({"B", "AE", "T"}), phones({"B", "AE", "S", "T"}), vowels()), 1.0);
  EXPECT_DOUBLE_EQ(closest_run(phones({"B", "AE", "T"}), phones({"K", "AE", "T", "S"}), vowels()), 1.0);
  // Exact: 0; empty text: the query's length; empty query: 0.
  EXPECT_DOUBLE_EQ(closest_run(phones({"K", "AE", "T"}), phones({"DH", "K", "AE", "T"}), vowels()), 0.0);
  EXPECT_DOUBLE_EQ(closest_run(phones({"K", "AE", "T"}), Phones{}, vowels()), 3.0);
  EXPECT_DOUBLE_EQ(closest_run(Phones{}, phones({"K"}), vowels()), 0.0);
}

TEST(PhoneticTest, ListeningSpansCoverWordsThatSoundLikeATarget) {
  // A dictionary of four words.
  auto pronounce = [](std::string_view token) -> Phones {
    if (token == "your") return phones({"Y", "AO", "R"});
    if (token == "up") return phones({"AH", "P"});
    if (token == "the") return phones({"DH", "AH"});
    if (token == "cat") return phones({"K", "AE", "T"});
    if (token == "dog") return phones({"D", "AO", "G"});
    return {};
  };
  asr::Transcript t;
  asr::Segment s1;
  s1.words = {word("the", 1.0, 1.2), word("cat", 1.2, 1.6), word("Your", 5.0, 5.3), word("up.", 5.3, 5.6)};
  asr::Segment s2;
  s2.words = {word("dog", 20.0, 20.4), word("xyzzy", 21.0, 21.5)};
  t.segments = {s1, s2};
  std::vector<PhoneticQuery> q = {{"europe", phones({"Y", "UH", "R", "AH", "P"})}};
  ListenOptions o;
  o.pad = 0.5;
  auto spans = listening_spans(t, q, pronounce, vowels(), o);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_DOUBLE_EQ(spans[0].start, 4.5);
  EXPECT_DOUBLE_EQ(spans[0].end, 6.1);

  // A stricter limit than one vowel per five phones: nothing.
  o.max_cost_per_phone = 0.05;
  EXPECT_TRUE(listening_spans(t, q, pronounce, vowels(), o).empty());

  // Two queries; spans that overlap once padded are merged.
  o.max_cost_per_phone = 0.34;
  o.pad = 2.0;
  q.push_back({"the cat", phones({"DH", "AH", "K", "AE", "T"})});
  spans = listening_spans(t, q, pronounce, vowels(), o);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_DOUBLE_EQ(spans[0].start, 0.0);  // clamped at the file's start
  EXPECT_DOUBLE_EQ(spans[0].end, 7.6);

  // A query without phones and a word without them are left out.
  std::vector<PhoneticQuery> none = {{"okonkwo", {}}};
  EXPECT_TRUE(listening_spans(t, none, pronounce, vowels(), o).empty());
}

TEST(PhoneticTest, DictionaryGivesPhonesAndLetterToSoundTheRest) {
  auto dict = asr::sphinx::Pronunciations::load("");
  ASSERT_TRUE(dict.ok()) << dict.status().message();
  EXPECT_GT((*dict)->size(), 100000u);
  EXPECT_EQ((*dict)->of("europe"), phones({"Y", "UH", "R", "AH", "P"}));
  EXPECT_TRUE((*dict)->of("").empty());
  EXPECT_TRUE((*dict)->of("12ab").empty());
  // A name the dictionary lacks still gets phones (flite's rules).
  if (asr::sphinx::letter_to_sound("okonkwo")) {
    EXPECT_FALSE((*dict)->of("okonkwo").empty());
  }
  auto missing = asr::sphinx::Pronunciations::load("/nonexistent/model");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cmudict-en-us.dict"), std::string::npos);
}

}  // namespace
}  // namespace sf::search
