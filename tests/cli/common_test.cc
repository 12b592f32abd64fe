#include "cli/common.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "cli/exit_codes.h"
#include "core/files.h"

namespace sf::cli {
namespace {

namespace fs = std::filesystem;
using Names = std::vector<std::string>;

TEST(OutputNames, OneNamePerInputFromItsBaseName) {
  EXPECT_EQ(output_names({"a/talk.mp4", "b/news.webm", "c.m4a"}, ".srt"),
            (Names{"talk.srt", "news.srt", "c.srt"}));
}

TEST(OutputNames, SameBaseNamesGetNumberedInInputOrder) {
  EXPECT_EQ(output_names({"a/talk.mp4", "b/talk.mp4", "talk.wav", "c/talk.mkv"}, ".json"),
            (Names{"talk.json", "talk-2.json", "talk-3.json", "talk-4.json"}));
  // A name that an input already has by its own base name is not handed out twice.
  EXPECT_EQ(output_names({"talk.mp4", "talk-2.mp4", "x/talk.mp4"}, ".txt"),
            (Names{"talk.txt", "talk-2.txt", "talk-3.txt"}));
}

TEST(RunGuarded, ReturnsTheBodysExitCode) {
  EXPECT_EQ(run_guarded("testing", [] { return 4; }), 4);
}

TEST(RunGuarded, OutOfMemoryBecomesAClearError) {
  ::testing::internal::CaptureStderr();
  const int rc = run_guarded("testing the boundary", []() -> int { throw std::bad_alloc(); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, kExitError);
  EXPECT_NE(err.find("out of memory while testing the boundary"), std::string::npos) << err;
}

TEST(RunGuarded, OtherExceptionsBecomeErrorsAndRemovePartialFiles) {
  const fs::path dir = fs::temp_directory_path() / ("sf-guard-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string tmp;
  ::testing::internal::CaptureStderr();
  const int rc = run_guarded("writing a file", [&]() -> int {
    tmp = temporary_name_for((dir / "out.mp4").string());
    std::ofstream(tmp) << "half";
    throw std::runtime_error("disk on fire");
  });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, kExitError);
  EXPECT_NE(err.find("disk on fire"), std::string::npos) << err;
  EXPECT_NE(err.find("writing a file"), std::string::npos) << err;
  EXPECT_FALSE(tmp.empty());
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(run_guarded("testing", []() -> int { throw 42; }), kExitError);
  discard_temporary(tmp);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sf::cli
