// Drives the built binary: `studioflow gpu --json` and `studioflow gpu`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct CommandRun {
  int exit_code = -1;
  std::string out;
};

// Runs the studioflow binary with `args`; stdout only (logs go to stderr).
CommandRun run_studioflow(const std::string& args) {
  CommandRun r;
  std::string cmd = std::string("'") + SF_BINARY + "' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

TEST(GpuCommand, JsonHasEveryFieldAndIsConsistent) {
  CommandRun r = run_studioflow("gpu --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out);

  for (const char* key : {"nvidia_nvenc", "amd_amf", "intel_quicksync", "vaapi", "cuda", "has_gpu"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    ASSERT_TRUE(j[key].is_boolean()) << key;
  }
  ASSERT_TRUE(j["cuda_devices"].is_array());
  ASSERT_TRUE(j["encoders"].is_array());
  ASSERT_TRUE(j.contains("encoder"));
  ASSERT_TRUE(j.contains("preset"));

  bool any = j["nvidia_nvenc"].get<bool>() || j["amd_amf"].get<bool>() || j["intel_quicksync"].get<bool>() ||
             j["vaapi"].get<bool>() || j["cuda"].get<bool>();
  EXPECT_EQ(j["has_gpu"].get<bool>(), any);
  EXPECT_EQ(j["cuda"].get<bool>(), !j["cuda_devices"].empty());
  if (!j["cuda"].get<bool>()) {
    ASSERT_TRUE(j["cuda_reason"].is_string());
    EXPECT_FALSE(j["cuda_reason"].get<std::string>().empty());
  }
  for (const auto& d : j["cuda_devices"]) {
    EXPECT_TRUE(d["name"].is_string());
    EXPECT_GT(d["memory_total_bytes"].get<std::uint64_t>(), 0u);
    EXPECT_TRUE(d["compute_capability"].is_string());
  }

  // Each encoder flag is its probe's verdict, and the chosen encoder is the
  // first usable one.
  const std::pair<const char*, const char*> flags[] = {{"h264_nvenc", "nvidia_nvenc"},
                                                       {"h264_amf", "amd_amf"},
                                                       {"h264_qsv", "intel_quicksync"},
                                                       {"h264_vaapi", "vaapi"}};
  std::string first_usable;
  bool saw_x264 = false;
  for (const auto& e : j["encoders"]) {
    std::string name = e["name"].get<std::string>();
    bool usable = e["usable"].get<bool>();
    if (usable && first_usable.empty()) first_usable = name;
    if (!usable) {
      EXPECT_FALSE(e["reason"].get<std::string>().empty()) << name;
    }
    if (name == "libx264") saw_x264 = true;
    for (const auto& [enc, flag] : flags) {
      if (name == enc) {
        EXPECT_EQ(j[flag].get<bool>(), usable) << name;
      }
    }
  }
  EXPECT_TRUE(saw_x264);
  ASSERT_FALSE(first_usable.empty());
  EXPECT_EQ(j["encoder"].get<std::string>(), first_usable);
  EXPECT_TRUE(j["preset"].is_string());
}

TEST(GpuCommand, TextNamesTheEncoder) {
  CommandRun json_run = run_studioflow("gpu --json");
  ASSERT_EQ(json_run.exit_code, 0);
  std::string encoder = nlohmann::json::parse(json_run.out)["encoder"].get<std::string>();

  CommandRun r = run_studioflow("gpu");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("has GPU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("encoder           " + encoder), std::string::npos) << r.out;
}

}  // namespace
