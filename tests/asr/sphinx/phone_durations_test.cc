#include "asr/sphinx/phone_durations.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace sf::asr::sphinx {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(SF_SPHINX_MODELDIR) / "en-us" / "en-us";

double sum(const std::map<std::string, double>& d, const std::vector<std::string>& phones) {
  double s = 0;
  for (const auto& p : phones) s += d.at(p);
  return s;
}

TEST(PhoneDurations, TheModelsPhonesLastAsPeopleSayThem) {
  auto d = expected_phone_seconds(kModel, 100);
  ASSERT_TRUE(d.ok()) << d.status().message();
  for (const char* p : {"AA", "AH", "AY", "B", "CH", "IY", "OY", "S", "T", "UH", "Y", "ZH", "SIL"}) {
    ASSERT_TRUE(d->count(p)) << p;
    // Three emitting states, each at least one 10-ms frame.
    EXPECT_GE(d->at(p), 0.03) << p;
    EXPECT_LT(d->at(p), 0.4) << p;
  }
  // Reduced vowels are short, diphthongs long.
  EXPECT_LT(d->at("AH"), d->at("AY"));
  EXPECT_LT(d->at("UH"), d->at("OY"));
  // So "europe" is expected to be said faster than "teachers".
  EXPECT_LT(sum(*d, {"Y", "UH", "R", "AH", "P"}) / 5, sum(*d, {"T", "IY", "CH", "ER", "Z"}) / 5);
  // Frames are counted at the rate given.
  auto half = expected_phone_seconds(kModel, 200);
  ASSERT_TRUE(half.ok());
  EXPECT_NEAR(half->at("AH"), d->at("AH") / 2, 1e-9);
}

// A two-phone model written as PocketSphinx writes one, in either byte
// order: phone A uses matrix 1 (every state stays with probability 0.75:
// 4 frames each, 12 in all), phone B matrix 0 (0.5 and a skip).
class TinyModel : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sf-phone-durations-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void word(std::string* out, uint32_t v, bool big) {
    if (big) v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    char b[4];
    std::memcpy(b, &v, 4);
    out->append(b, 4);
  }
  void real(std::string* out, float f, bool big) {
    uint32_t v = 0;
    std::memcpy(&v, &f, 4);
    word(out, v, big);
  }
  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  // `big`: written by a machine of the other byte order than this one.
  void write_model(bool big) {
    std::string m = big ? "FDMB" : "BMDF";
    word(&m, 1, big);
    const std::string description = "a tiny model\n";
    word(&m, static_cast<uint32_t>(description.size()), big);
    m += description;
    // n_ciphone, n_phone, n_emit_state, n_ci_sen, n_sen, n_tmat, n_sseq, n_ctx, n_cd_tree, sil
    for (uint32_t v : {2u, 2u, 3u, 6u, 6u, 2u, 2u, 3u, 1u, 1u}) word(&m, v, big);
    m += std::string("A\0B\0", 4);
    while (m.size() % 4) m += '\0';
    m += std::string(8, '\0');  // one context-tree node
    // {ssid, tmat, attributes} for A and B
    word(&m, 0, big), word(&m, 1, big), m += std::string(4, '\0');
    word(&m, 1, big), word(&m, 0, big), m += std::string(4, '\0');
    write("mdef", m);

    std::string t = "s3\nversion 1.0\nchksum0 no\nendhdr\n";
    word(&t, 0x11223344u, big);
    for (uint32_t v : {2u, 3u, 4u, 24u}) word(&t, v, big);
    // Matrix 0 (counts, not normalized): stay 2 / go 1 / skip 1 in state
    // 0, stay 1 / go 1 after.
    for (float f : {2.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f, 1.f}) real(&t, f, big);
    for (float f : {.75f, .25f, 0.f, 0.f, 0.f, .75f, .25f, 0.f, 0.f, 0.f, .75f, .25f}) real(&t, f, big);
    write("transition_matrices", t);
  }

  fs::path dir_;
};

TEST_F(TinyModel, EachPhoneGetsTheMeanTimeThroughItsOwnMatrix) {
  for (bool big : {false, true}) {
    write_model(big);
    auto d = expected_phone_seconds(dir_, 100);
    ASSERT_TRUE(d.ok()) << d.status().message();
    ASSERT_EQ(d->size(), 2u);
    EXPECT_NEAR(d->at("A"), 0.12, 1e-6) << big;
    // B: from state 2, 2 frames (it stays half the time); from state 1,
    // 2 there and 2 in state 2; from state 0, 2 there, then 4 or 2 frames
    // (going on to state 1 or skipping it): 5 frames.
    EXPECT_NEAR(d->at("B"), 0.05, 1e-6) << big;
  }
}

TEST_F(TinyModel, MissingAndDamagedFilesAreClearErrors) {
  auto missing = expected_phone_seconds(dir_, 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("mdef"), std::string::npos);

  write_model(false);
  // A description longer than the file.
  const char damaged[] = "BMDF\x01\x00\x00\x00\xff\xff\x00\x00 short";
  write("mdef", std::string(damaged, sizeof(damaged) - 1));
  auto cut = expected_phone_seconds(dir_, 100);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Code::kCorrupt);
  EXPECT_NE(cut.status().message().find((dir_ / "mdef").string()), std::string::npos);

  write_model(false);
  write("transition_matrices", "s3\nendhdr\n\x44\x33\x22\x10");
  auto order = expected_phone_seconds(dir_, 100);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), Code::kCorrupt);
  EXPECT_NE(order.status().message().find("transition_matrices"), std::string::npos);
}

}  // namespace
}  // namespace sf::asr::sphinx
