#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "gpu/planner.h"
#include "gpu/sampler.h"
#include "pipeline/resolve.h"

namespace sf::config {
namespace {

// Unsets a variable when the test leaves.
struct ScopedEnv {
  explicit ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
  std::string name;
};

struct Row {
  std::vector<std::string> good;
  std::vector<std::string> bad;
};

// Per variable: values that pass and values that must be refused.
const std::map<std::string, Row>& rows() {
  static const std::map<std::string, Row> r = {
      {"WHISPER_MODEL_SIZE",
       {{"tiny", "base.en", "large-v3", "/models/whisper-small"},
        {"tiny model", ".hidden", "a;b"}}},
      {"FORCE_SINGLE_GPU",
       {{"1", "true", "YES", "on", "0", "false", "No", "off"}, {"maybe", "2", "y"}}},
      {"GPU_MEMORY_SAFETY_BUFFER", {{"0", "0.2", "2"}, {"-0.1", "2.5", "lots", "20%"}}},
      {"MIN_GPU_UTILIZATION_THRESHOLD", {{"0", "30", "60"}, {"61", "-1", "high"}}},
      {"MAX_MODELS_PER_GPU", {{"1", "4", "64"}, {"0", "65", "2.5", "four"}}},
      {"MAX_SEGMENT_DOWNLOADS", {{"1", "6", "64"}, {"0", "100", "1e3"}}},
      {"MAX_CLIP_DOWNLOADS", {{"1", "8", "64"}, {"0", "-8", "0x10"}}},
      {"TRANSCRIPTION_TIMEOUT", {{"1", "300", "450.5"}, {"0", "100000", "5m", "3e2"}}},
      {"PIPELINE_STAGE_TIMEOUT", {{"1", "60", "2.5"}, {"0.5", "forever"}}},
      {"GPU_WORKER_PROCESSES", {{"auto", "AUTO", "1", "2", "64"}, {"0", "65", "1.5", "many"}}},
      {"WORKER_HEALTH_CHECK_INTERVAL", {{"0.1", "30", "3600"}, {"0", "3601", "often"}}},
      {"PROCESS_RESTART_THRESHOLD", {{"0", "5", "1000"}, {"-1", "1001", "2.5"}}},
      {"ENABLE_GPU_PROFILING", {{"1", "off"}, {"please"}}},
      {"BASELINE_MEASUREMENT_DURATION", {{"0.1", "30", "3600"}, {"0", "3601", "30s"}}},
      {"PERFORMANCE_MONITORING_INTERVAL", {{"0.1", "10"}, {"0", "-5", "ten"}}},
      {"ENABLE_PIPELINE_LOGGING", {{"1", "false"}, {"verbose"}}},
      {"DEBUG_GPU_ALLOCATION", {{"true", "0"}, {"debug"}}},
      {"SAVE_PROFILING_DATA", {{"yes", "no"}, {"sometimes"}}},
      {"STUDIOFLOW_LIBRARY",
       {{"/tmp/sf-config-test/library.db", "library.db"}, {"/tmp", "/tmp/some/folder/"}}},
      {"STUDIOFLOW_TOKEN", {{"s3cret-token", "abcdefgh"}, {"short", "has space in it"}}},
  };
  return r;
}

TEST(Config, EveryListedVariableHasAKindARangeAndATestRow) {
  std::set<std::string> listed;
  for (const EnvVar& v : env_vars()) {
    listed.insert(std::string(v.name));
    EXPECT_TRUE(rows().count(std::string(v.name))) << v.name << " has no test row";
    EXPECT_FALSE(v.help.empty()) << v.name;
    EXPECT_FALSE(allowed_text(v).empty()) << v.name;
    if (v.kind == Kind::kNumber || v.kind == Kind::kInteger || v.kind == Kind::kAutoOrInteger) {
      EXPECT_LT(v.min, v.max) << v.name;
    }
    // The default itself is valid.
    EXPECT_TRUE(validate_value(v, v.fallback).ok())
        << v.name << ": " << validate_value(v, v.fallback).message();
  }
  for (const auto& [name, row] : rows())
    EXPECT_TRUE(listed.count(name)) << name << " is tested but not listed";
  EXPECT_FALSE(listed.count("ENABLE_CUDA_STREAMS"));  // returns with the CUDA backend
}

TEST(Config, GoodValuesPassBadValuesAreErrorsNamingTheVariable) {
  for (const EnvVar& v : env_vars()) {
    const Row& row = rows().at(std::string(v.name));
    for (const std::string& good : row.good) {
      ScopedEnv e(std::string(v.name), good);
      Status s = validate_env();
      EXPECT_TRUE(s.ok()) << v.name << "=" << good << ": " << s.message();
    }
    for (const std::string& bad : row.bad) {
      ScopedEnv e(std::string(v.name), bad);
      Status s = validate_env();
      ASSERT_FALSE(s.ok()) << v.name << "=" << bad << " was accepted";
      EXPECT_EQ(s.code(), Code::kInvalidArgument);
      if (v.kind == Kind::kSecret) {
        // A secret is named but never echoed.
        EXPECT_NE(s.message().find(std::string(v.name) + " is not valid"), std::string::npos) << s.message();
        EXPECT_EQ(s.message().find(bad), std::string::npos) << s.message();
      } else {
        EXPECT_NE(s.message().find(std::string(v.name) + "='" + bad + "'"), std::string::npos) << s.message();
      }
      EXPECT_NE(s.message().find("is not valid"), std::string::npos) << s.message();
    }
  }
  // Empty counts as unset.
  ScopedEnv e("MAX_MODELS_PER_GPU", "");
  EXPECT_TRUE(validate_env().ok());
}

TEST(Config, MessagesSayWhatIsAllowed) {
  ScopedEnv e("MAX_MODELS_PER_GPU", "0");
  EXPECT_EQ(validate_env().message(),
            "MAX_MODELS_PER_GPU='0' is not valid: expected a whole number in 1..64");
  ScopedEnv f("FORCE_SINGLE_GPU", "maybe");
  ::unsetenv("MAX_MODELS_PER_GPU");
  EXPECT_EQ(validate_env().message(),
            "FORCE_SINGLE_GPU='maybe' is not valid: expected 1/true/yes/on or 0/false/no/off");
}

TEST(Config, DefaultsOfTheSeedDesign) {
  ::unsetenv("MAX_MODELS_PER_GPU");
  ::unsetenv("GPU_MEMORY_SAFETY_BUFFER");
  EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 4);
  EXPECT_DOUBLE_EQ(env_double("GPU_MEMORY_SAFETY_BUFFER"), 0.2);
  EXPECT_EQ(env_int("TRANSCRIPTION_TIMEOUT"), 300);
  EXPECT_EQ(env_int("WORKER_HEALTH_CHECK_INTERVAL"), 30);
  EXPECT_EQ(env_int("PROCESS_RESTART_THRESHOLD"), 5);
  EXPECT_FALSE(env_int_or_auto("GPU_WORKER_PROCESSES"));
  EXPECT_FALSE(env_bool("FORCE_SINGLE_GPU"));
  EXPECT_EQ(env("WHISPER_MODEL_SIZE"), "base");
}

TEST(Config, ValidValuesAreReadInvalidOnesFallBack) {
  {
    ScopedEnv e("MAX_MODELS_PER_GPU", "2");
    EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 2);
  }
  {
    // Only reachable where validate_env() was skipped.
    ScopedEnv e("MAX_MODELS_PER_GPU", "lots");
    EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 4);
    ScopedEnv f("GPU_MEMORY_SAFETY_BUFFER", "9");
    EXPECT_DOUBLE_EQ(env_double("GPU_MEMORY_SAFETY_BUFFER"), 0.2);
    ScopedEnv g("GPU_WORKER_PROCESSES", "0");
    EXPECT_FALSE(env_int_or_auto("GPU_WORKER_PROCESSES"));
  }
  {
    ScopedEnv e("FORCE_SINGLE_GPU", "TRUE");
    EXPECT_TRUE(env_bool("FORCE_SINGLE_GPU"));
    ScopedEnv f("GPU_WORKER_PROCESSES", "3");
    EXPECT_EQ(env_int_or_auto("GPU_WORKER_PROCESSES"), 3);
    ScopedEnv g("TRANSCRIPTION_TIMEOUT", "12.5");
    EXPECT_DOUBLE_EQ(env_double("TRANSCRIPTION_TIMEOUT"), 12.5);
  }
  ScopedEnv e("FORCE_SINGLE_GPU", "off");
  EXPECT_FALSE(env_bool("FORCE_SINGLE_GPU"));
}

TEST(Config, PlannerVariablesReachThePlanOptions) {
  ScopedEnv a("GPU_MEMORY_SAFETY_BUFFER", "0.5");
  ScopedEnv b("MIN_GPU_UTILIZATION_THRESHOLD", "20");
  ScopedEnv c("MAX_MODELS_PER_GPU", "7");
  ScopedEnv d("FORCE_SINGLE_GPU", "yes");
  ScopedEnv e("GPU_WORKER_PROCESSES", "3");
  gpu::PlanOptions o = gpu::plan_options_from_env();
  EXPECT_DOUBLE_EQ(o.memory_safety_buffer, 0.5);
  EXPECT_DOUBLE_EQ(o.min_utilization_threshold, 20);
  EXPECT_EQ(o.max_models_per_gpu, 7);
  EXPECT_TRUE(o.force_single_gpu);
  EXPECT_EQ(o.worker_processes, 3);
  ScopedEnv f("GPU_WORKER_PROCESSES", "auto");
  EXPECT_FALSE(gpu::plan_options_from_env().worker_processes);
}

TEST(Config, DownloadLimitsUseTheValidatedValues) {
  ScopedEnv a("MAX_SEGMENT_DOWNLOADS", "2");
  ScopedEnv b("MAX_CLIP_DOWNLOADS", "5");
  EXPECT_EQ(pipeline::download_limits().segment_readers, 2);
  EXPECT_EQ(pipeline::download_limits().clip_readers, 5);
}

TEST(Config, DescribeMarksSetAndInvalidValues) {
  ScopedEnv a("MAX_MODELS_PER_GPU", "0");
  ScopedEnv b("FORCE_SINGLE_GPU", "1");
  std::string text = describe_env();
  EXPECT_NE(text.find("MAX_MODELS_PER_GPU              0  [set, invalid]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("FORCE_SINGLE_GPU                1  [set]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("a whole number in 1..64"), std::string::npos);
  EXPECT_EQ(text.find("ENABLE_CUDA_STREAMS"), std::string::npos);
}

}  // namespace
}  // namespace sf::config
