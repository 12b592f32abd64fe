// `studioflow bench render-floor` driven as a user runs it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int rc = -1;
  std::string out;
};

CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class BenchCmdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() / ("sf-bench-cmd-" + std::to_string(::getpid()));
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  fs::path tmp_;
};

TEST_F(BenchCmdTest, RenderFloorPrintsTimingsAndLeavesNoFileBehind) {
  CmdResult r = run_cmd("TMPDIR='" + tmp_.string() + "' '" SF_BINARY "' -q bench render-floor --frames 12 --size 96x64 --fps 24");
  ASSERT_EQ(r.rc, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["frames"].get<long long>(), 12);
  EXPECT_EQ(j["width"].get<int>(), 96);
  EXPECT_EQ(j["height"].get<int>(), 64);
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 24.0);
  EXPECT_GT(j["seconds"].get<double>(), 0);
  EXPECT_NEAR(j["fps_encoded"].get<double>(), 12 / j["seconds"].get<double>(), 1e-6);
  EXPECT_TRUE(j["audio"].get<bool>());
  EXPECT_FALSE(j["encoder"].get<std::string>().empty());
  EXPECT_TRUE(fs::is_empty(tmp_)) << "the temporary MP4 must be removed";
}

TEST_F(BenchCmdTest, RenderFloorRejectsABadSize) {
  CmdResult r = run_cmd("'" SF_BINARY "' -q bench render-floor --frames 5 --size 95x64 2>&1");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("95x64"), std::string::npos) << r.out;
}

TEST_F(BenchCmdTest, RenderFloorKeepsTheFileWhenAsked) {
  const fs::path out = tmp_ / "floor.mp4";
  CmdResult r = run_cmd("'" SF_BINARY "' -q bench render-floor --frames 3 --size 64x48 --no-audio -o '" + out.string() + "'");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_GT(fs::file_size(out), 0u);
}

}  // namespace
