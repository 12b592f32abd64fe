// The import manifest on a real file, and the proxy size rule.
#include "import/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "import/import.h"

namespace sf::import {
namespace {

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sf-manifest-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ManifestTest, ProductsSurviveReopenAndAChangedFingerprintForgetsThem) {
  {
    auto m = Manifest::open(dir_.string());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->set_source("/a.mp4", {{"fingerprint", "xxh3-128:1"}, {"size", 10}}).ok());
    ASSERT_TRUE(m->set_product("/a.mp4", "proxy", {{"options", "o"}, {"files", nlohmann::json::array()}}).ok());
  }
  auto m = Manifest::open(dir_.string());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->product("/a.mp4", "proxy")["options"], "o");
  EXPECT_TRUE(m->product("/a.mp4", "transcript").is_null());
  EXPECT_TRUE(m->product("/b.mp4", "proxy").is_null());
  // Same fingerprint (say, touched): products kept.
  ASSERT_TRUE(m->set_source("/a.mp4", {{"fingerprint", "xxh3-128:1"}, {"size", 10}, {"mtime_ns", 5}}).ok());
  EXPECT_FALSE(m->product("/a.mp4", "proxy").is_null());
  // New content: forgotten.
  ASSERT_TRUE(m->set_source("/a.mp4", {{"fingerprint", "xxh3-128:2"}, {"size", 11}}).ok());
  EXPECT_TRUE(m->product("/a.mp4", "proxy").is_null());
}

TEST_F(ManifestTest, ADamagedManifestIsAnErrorNamingIt) {
  std::ofstream(dir_ / kManifestName) << "{not json";
  auto m = Manifest::open(dir_.string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find(kManifestName), std::string::npos);
}

TEST(ProxySize, Rules) {
  EXPECT_EQ(*proxy_dimensions("half", 1920, 1080), (std::pair{960, 540}));
  EXPECT_EQ(*proxy_dimensions("quarter", 1920, 1080), (std::pair{480, 270}));
  EXPECT_EQ(*proxy_dimensions("540p", 1920, 1080), (std::pair{960, 540}));
  EXPECT_EQ(*proxy_dimensions("540p", 1080, 1920), (std::pair{304, 540}));  // upright phone video
  EXPECT_EQ(*proxy_dimensions("640x360", 1920, 1080), (std::pair{640, 360}));
  EXPECT_EQ(*proxy_dimensions("half", 721, 405), (std::pair{360, 202}));  // even
  EXPECT_EQ(*proxy_dimensions("4000x3000", 640, 360), (std::pair{640, 360}));  // never larger
  for (const char* bad : {"huge", "0x0", "12x", "p", "-5p", "640x360x2"}) {
    auto r = proxy_dimensions(bad, 1920, 1080);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--proxy-size"), std::string::npos);
  }
}

}  // namespace
}  // namespace sf::import
