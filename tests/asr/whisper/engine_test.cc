// The Whisper engine end to end on a random-weight model with tiny's real
// shapes (written by the reference generator), plus model resolution and
// `model pull` without a network.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "asr/engine.h"
#include "asr/whisper/model_store.h"
#include "asr/whisper/test_vocab.h"
#include "asr/whisper/whisper_engine.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class WhisperEngineE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string cmd = std::string("/usr/bin/python3 ") + SF_TEST_SOURCE_DIR +
                            "/asr/whisper/reference/make_model.py --size tiny --hf-out " +
                            (dir_->path() / "whisper-tiny").string() + " --ggml-out " +
                            (dir_->path() / "ggml-tiny.bin").string() + " > /dev/null";
    made_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(made_) << "the reference generator failed"; }

  static std::vector<float> audio(double seconds) {
    // A few tones with pauses and a little noise: something to listen to.
    std::vector<float> a(static_cast<size_t>(seconds * 16000));
    uint32_t x = 12345;
    for (size_t i = 0; i < a.size(); ++i) {
      x = x * 1664525u + 1013904223u;
      const double t = static_cast<double>(i) / 16000.0;
      const bool on = std::fmod(t, 2.0) < 1.2;
      a[i] = static_cast<float>((on ? 0.2 * std::sin(2 * M_PI * (180 + 40 * std::floor(t)) * t) : 0.0) +
                                0.002 * (static_cast<double>(x >> 8) / 16777216.0 - 0.5));
    }
    return a;
  }

  static void expect_inside(const Transcript& t, double from, double to) {
    for (const Segment& s : t.segments) {
      EXPECT_GE(s.start, from - 1e-6);
      EXPECT_LE(s.end, to + 1e-6);
      EXPECT_LE(s.start, s.end);
      for (const Word& w : s.words) {
        EXPECT_GE(w.start, from - 1e-6);
        EXPECT_LE(w.end, to + 1e-6);
        EXPECT_LE(w.start, w.end + 1e-9);
        EXPECT_GE(w.probability, 0.0f);
        EXPECT_LE(w.probability, 1.0f);
        EXPECT_FALSE(w.text.empty());
      }
    }
  }

  static TempDir* dir_;
  static bool made_;
};
TempDir* WhisperEngineE2E::dir_ = nullptr;
bool WhisperEngineE2E::made_ = false;

TEST_F(WhisperEngineE2E, HuggingFaceFolderTranscribesLongForm) {
  EngineOptions o;
  o.engine = "whisper";
  o.model = (dir_->path() / "whisper-tiny").string();
  o.threads = 2;
  // Random weights never end a window and always fall back: a short
  // fallback ladder keeps the test quick while running every stage.
  auto e = whisper::create_engine(o, EngineTuning{{0.0f, 1.0f}, 64});
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ((*e)->name(), "whisper:whisper-tiny");
  const auto a = audio(7.0);
  auto t = (*e)->transcribe(a, 50.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_FALSE(t->language.empty());
  expect_inside(*t, 50.0, 57.0);

  // A second engine over the same model works on its own session.
  auto e2 = whisper::create_engine(o, EngineTuning{{0.0f}, 24});
  ASSERT_TRUE(e2.ok());
  auto t2 = (*e2)->transcribe(std::span<const float>(a.data(), 16000 * 3), 0.0);
  ASSERT_TRUE(t2.ok()) << t2.status().to_string();
  expect_inside(*t2, 0.0, 3.0);
}

TEST_F(WhisperEngineE2E, GgmlFileTranscribesInBatchesWithBeamSearch) {
  EngineOptions o;
  o.engine = "whisper";
  o.model = (dir_->path() / "ggml-tiny.bin").string();
  o.language = "en";
  o.batch_size = 2;
  o.beam_size = 2;
  o.threads = 2;
  auto e = whisper::create_engine(o, EngineTuning{{0.0f, 0.6f}, 32});
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  // Long enough for two VAD chunks, decoded in one batch.
  const auto a = audio(40.0);
  auto t = (*e)->transcribe(a, 10.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->language, "en");
  expect_inside(*t, 10.0, 50.0);
}

TEST_F(WhisperEngineE2E, EnginesShareOneModelPerFile) {
  EngineOptions o;
  o.engine = "whisper";
  o.model = (dir_->path() / "whisper-tiny").string();
  const int before = loaded_model_count();
  {
    auto a = asr::create_engine(o);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_EQ(loaded_model_count(), before + 1);
    o.model = (dir_->path() / "." / "whisper-tiny").string();  // the same folder, spelled differently
    auto b = asr::create_engine(o);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(loaded_model_count(), before + 1);
    o.model = (dir_->path() / "ggml-tiny.bin").string();
    auto c = asr::create_engine(o);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(loaded_model_count(), before + 2);
  }
  EXPECT_EQ(loaded_model_count(), before);
}

TEST_F(WhisperEngineE2E, BadOptionsAreErrors) {
  EngineOptions o;
  o.engine = "whisper";
  o.model = (dir_->path() / "whisper-tiny").string();
  o.language = "xx";
  auto e = asr::create_engine(o);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
  o.language = "";
  o.model = (dir_->path() / "ggml-tiny.bin").string();
  o.initial_prompt = "hello";
  auto g = asr::create_engine(o);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), Code::kUnsupported);
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

TEST(WhisperModelStore, ResolvesFoldersFilesAndPulledNames) {
  TempDir tmp;
  ScopedEnv xdg("XDG_CACHE_HOME", tmp.path().string());
  EXPECT_EQ(default_models_dir(), tmp.path() / "studioflow" / "models");
  auto missing = resolve_model("base.en");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find((tmp.path() / "studioflow" / "models" / "base.en").string()),
            std::string::npos);
  EXPECT_NE(missing.status().message().find("model pull"), std::string::npos);

  fs::create_directories(tmp.path() / "studioflow" / "models" / "base.en");
  auto pulled = resolve_model("base.en");
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(*pulled, (tmp.path() / "studioflow" / "models" / "base.en").string());
  auto folder = resolve_model(tmp.path().string());
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(*folder, tmp.path().string());
}

TEST(WhisperModelStore, PullFailsFastWithoutNetworkAndLeavesNothing) {
  TempDir tmp;
  const fs::path dest = tmp.path() / "models" / "tiny";
  PullOptions o;
  o.endpoint = "https://127.0.0.1:9";  // nothing listens there
  auto r = pull_model("tiny", dest, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("openai/whisper-tiny"), std::string::npos);
  EXPECT_NE(r.status().message().find("127.0.0.1:9"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest));
  for (const auto& entry : fs::directory_iterator(tmp.path() / "models"))
    ADD_FAILURE() << "left behind: " << entry.path();

  auto bad = pull_model("../etc", dest, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
}

TEST(WhisperModelStore, PullCommandReportsTheProblem) {
  TempDir tmp;
  const std::string cmd = std::string("HF_ENDPOINT=https://127.0.0.1:9 XDG_CACHE_HOME=") + tmp.path().string() +
                          " " + SF_BINARY + " model pull base.en > " + (tmp.path() / "out.txt").string() +
                          " 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  std::ifstream in(tmp.path() / "out.txt");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cannot reach"), std::string::npos) << text;
  EXPECT_NE(text.find("openai/whisper-base.en"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(tmp.path() / "studioflow" / "models" / "base.en"));
}

}  // namespace
}  // namespace sf::asr::whisper
