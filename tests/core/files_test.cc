#include "core/files.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/cancel.h"

namespace sf {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sf-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void touch(const std::string& p, const std::string& text = "data") { std::ofstream(p) << text; }
  std::vector<std::string> partials() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().find(".partial-") != std::string::npos) out.push_back(e.path());
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(FilesTest, OutputThatIsAnInputIsRefusedWithBothNamed) {
  const std::string input = path("talk.mp4");
  touch(input);
  fs::create_directory(path("sub"));
  fs::create_symlink(input, path("link.mp4"));
  fs::create_hard_link(input, path("hard.mp4"));
  const std::vector<std::string> inputs = {path("other.mp4"), input};
  touch(inputs[0]);
  for (const std::string& output : {input, (dir_ / "." / "talk.mp4").string(),
                                    (dir_ / "sub" / ".." / "talk.mp4").string(), path("link.mp4"),
                                    path("hard.mp4")}) {
    Status s = check_not_an_input(output, inputs);
    ASSERT_FALSE(s.ok()) << output;
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find(output), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(input), std::string::npos) << s.message();
  }
  // The input given through the link is caught the other way round too.
  EXPECT_FALSE(check_not_an_input(input, {path("link.mp4")}).ok());
}

TEST_F(FilesTest, OtherOutputsAreAccepted) {
  const std::string input = path("talk.mp4");
  touch(input);
  touch(path("copy.mp4"));  // same content, another file
  EXPECT_TRUE(check_not_an_input(path("new.mp4"), {input}).ok());
  EXPECT_TRUE(check_not_an_input(path("copy.mp4"), {input}).ok());
  EXPECT_TRUE(check_not_an_input("", {input}).ok());
  EXPECT_TRUE(check_not_an_input(path("copy.mp4"), {path("missing.mp4")}).ok());
}

TEST_F(FilesTest, RegisteredTemporariesAreRemovedCommittedOutputsStay) {
  const std::string done = path("done.txt");
  ASSERT_TRUE(write_file_atomic(done, "complete").ok());
  const std::string tmp = temporary_name_for(path("half.mp4"));
  touch(tmp, "half-written");
  ASSERT_EQ(partials().size(), 1u);
  remove_registered_temporaries();
  EXPECT_TRUE(partials().empty());
  EXPECT_TRUE(fs::exists(done));
  discard_temporary(tmp);
}

TEST_F(FilesTest, CommitAndDiscardLeaveTheRegistry) {
  // A committed name is no longer a temporary: removing the registered ones
  // afterwards must not touch a file that reuses it.
  const std::string tmp = temporary_name_for(path("out.txt"));
  touch(tmp);
  ASSERT_TRUE(commit_file(tmp, path("out.txt")).ok());
  touch(tmp, "a file of the same name, not ours any more");
  const std::string dropped = temporary_name_for(path("gone.txt"));
  touch(dropped);
  discard_temporary(dropped);
  EXPECT_FALSE(fs::exists(dropped));
  touch(dropped);
  remove_registered_temporaries();
  EXPECT_TRUE(fs::exists(tmp));
  EXPECT_TRUE(fs::exists(dropped));
  EXPECT_TRUE(fs::exists(path("out.txt")));
}

TEST_F(FilesTest, FailedAtomicWriteLeavesNothing) {
  EXPECT_FALSE(write_file_atomic(path("no/such/folder/x.txt"), "x").ok());
  fs::create_directory(path("isdir"));
  EXPECT_FALSE(write_file_atomic(path("isdir"), "x").ok());
  EXPECT_TRUE(partials().empty());
}

TEST_F(FilesTest, SecondSignalRemovesPartialFilesAndEnds) {
  // "fast" forks without re-running the fixture, so the child writes in this test's folder.
  GTEST_FLAG_SET(death_test_style, "fast");
  const std::string out = path("render.mp4");
  EXPECT_EXIT(
      {
        install_cancel_handlers();
        touch(temporary_name_for(out), "half a video");
        std::raise(SIGINT);  // first: a polite request
        if (!cancel_requested()) std::_Exit(3);
        std::raise(SIGINT);  // second: now
        std::_Exit(4);       // not reached
      },
      ::testing::KilledBySignal(SIGINT), "");
  EXPECT_TRUE(partials().empty());
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(FilesTest, SigtermAfterSigintCountsAsTheSecondSignal) {
  // "fast" forks without re-running the fixture, so the child writes in this test's folder.
  GTEST_FLAG_SET(death_test_style, "fast");
  EXPECT_EXIT(
      {
        install_cancel_handlers();
        touch(temporary_name_for(path("x.mp4")));
        std::raise(SIGINT);
        std::raise(SIGTERM);
        std::_Exit(4);
      },
      ::testing::KilledBySignal(SIGTERM), "");
  EXPECT_TRUE(partials().empty());
}

}  // namespace
}  // namespace sf
