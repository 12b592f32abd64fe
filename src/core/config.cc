#include "core/config.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/log.h"

namespace sf::config {
namespace {

constexpr EnvVar kVars[] = {
    {"WHISPER_MODEL_SIZE", "base", "default Whisper model name or folder for --engine whisper",
     Kind::kModel},
    {"FORCE_SINGLE_GPU", "", "plan GPU 0 only, whatever the number of GPUs", Kind::kFlag},
    {"GPU_MEMORY_SAFETY_BUFFER", "0.2",
     "extra share of one instance's measured GPU memory reserved when sizing (0.2: x1.2)",
     Kind::kNumber, 0, 2},
    {"MIN_GPU_UTILIZATION_THRESHOLD", "30",
     "utilization (%) of one instance below which the planner allows 4 instances; 3 below +20, 2 "
     "below +40",
     Kind::kNumber, 0, 60},
    {"MAX_MODELS_PER_GPU", "4", "most engine instances on one GPU", Kind::kInteger, 1, 64},
    {"MAX_SEGMENT_DOWNLOADS", "6", "inputs opened (probed, downloaded) in parallel", Kind::kInteger,
     1, 64},
    {"MAX_CLIP_DOWNLOADS", "8", "parallel clip reads from URL inputs", Kind::kInteger, 1, 64},
    {"TRANSCRIPTION_TIMEOUT", "300", "seconds one segment may take to transcribe in a worker",
     Kind::kNumber, 1, 86400},
    {"PIPELINE_STAGE_TIMEOUT", "60", "seconds a network read may wait for data", Kind::kNumber, 1,
     86400},
    {"GPU_WORKER_PROCESSES", "", "worker processes: auto (one per GPU, 2 on CPU) or a number",
     Kind::kAutoOrInteger, 1, 64},
    {"WORKER_HEALTH_CHECK_INTERVAL", "30", "seconds between worker health checks", Kind::kNumber,
     0.1, 3600},
    {"PROCESS_RESTART_THRESHOLD", "5", "restarts of a worker per job before its device is given up",
     Kind::kInteger, 0, 1000},
    {"ENABLE_GPU_PROFILING", "", "`gpu --plan` measures a GPU baseline before planning",
     Kind::kFlag},
    {"BASELINE_MEASUREMENT_DURATION", "30", "seconds of GPU baseline measurement (10 samples/s)",
     Kind::kNumber, 0.1, 3600},
    {"PERFORMANCE_MONITORING_INTERVAL", "10", "seconds between GPU samples after the baseline",
     Kind::kNumber, 0.1, 3600},
    {"ENABLE_PIPELINE_LOGGING", "", "log every stage of a compilation job with its time",
     Kind::kFlag},
    {"DEBUG_GPU_ALLOCATION", "", "log every decision of the capacity planner", Kind::kFlag},
    {"SAVE_PROFILING_DATA", "",
     "supercut writes OUTPUT.profile.json (stage times, plan, GPU samples)", Kind::kFlag},
    {"STUDIOFLOW_LIBRARY", "",
     "transcript library file (default: $XDG_DATA_HOME or ~/.local/share, studioflow/library.db)",
     Kind::kPath},
    {"STUDIOFLOW_TOKEN", "", "serve: the bearer token every route but /health/* requires (as --token)",
     Kind::kSecret},
};

const EnvVar* find(std::string_view name) {
  for (const auto& v : kVars) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A whole decimal number: strtod accepts "1e3", " 5" and "0x10", which a
// person typing a count does not mean.
bool parse_number(std::string_view s, double* out) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+'))
      return false;
  }
  std::string text(s);
  char* end = nullptr;
  double d = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(d)) return false;
  *out = d;
  return true;
}

std::string number_text(double d) { return fmt::format("{}", d); }

std::optional<bool> parse_flag(std::string_view s) {
  std::string l = lower(s);
  if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
  if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

}  // namespace

std::span<const EnvVar> env_vars() { return kVars; }

std::string allowed_text(const EnvVar& var) {
  std::string range = number_text(var.min) + ".." + number_text(var.max);
  switch (var.kind) {
    case Kind::kNumber:
      return "a number in " + range;
    case Kind::kInteger:
      return "a whole number in " + range;
    case Kind::kFlag:
      return "1/true/yes/on or 0/false/no/off";
    case Kind::kAutoOrInteger:
      return "auto or a whole number in " + range;
    case Kind::kPath:
      return "a file path (not a folder)";
    case Kind::kModel:
      return "a model name (letters, digits, . _ -) or a path";
    case Kind::kSecret:
      return "at least 8 printable characters without spaces";
  }
  return "";
}

Status validate_value(const EnvVar& var, std::string_view value) {
  if (value.empty()) return {};
  auto bad = [&](std::string_view why = {}) {
    return invalid_argument(std::string(var.name) + "='" + std::string(value) + "' is not valid: " +
                            (why.empty() ? "expected " + allowed_text(var) : std::string(why)));
  };
  switch (var.kind) {
    case Kind::kFlag:
      if (!parse_flag(value)) return bad();
      return {};
    case Kind::kAutoOrInteger:
      if (lower(value) == "auto") return {};
      [[fallthrough]];
    case Kind::kNumber:
    case Kind::kInteger: {
      double d = 0;
      if (!parse_number(value, &d)) return bad();
      if (var.kind != Kind::kNumber && d != std::floor(d)) return bad();
      if (d < var.min || d > var.max) return bad();
      return {};
    }
    case Kind::kPath: {
      if (value.back() == '/') return bad("expected a file path, not a folder");
      std::error_code ec;
      if (std::filesystem::is_directory(std::filesystem::path(std::string(value)), ec)) {
        return bad("it is a folder; expected a file path");
      }
      return {};
    }
    case Kind::kModel: {
      if (value.find('/') != std::string_view::npos) return {};
      bool ok = std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
      if (!ok || value.front() == '.') return bad();
      return {};
    }
    case Kind::kSecret: {
      bool ok = value.size() >= 8 && std::all_of(value.begin(), value.end(), [](char c) { return c > ' ' && c < 127; });
      if (!ok) return invalid_argument(std::string(var.name) + " is not valid: expected " + allowed_text(var));
      return {};
    }
  }
  return {};
}

Status validate_env() {
  for (const auto& v : kVars) {
    const char* set = std::getenv(std::string(v.name).c_str());
    if (set == nullptr) continue;
    SF_RETURN_IF_ERROR(validate_value(v, set));
  }
  return {};
}

std::string env(std::string_view name) {
  const EnvVar* v = find(name);
  const char* set = std::getenv(std::string(name).c_str());
  if (set != nullptr && *set != '\0') return set;
  return v != nullptr ? std::string(v->fallback) : std::string();
}

double env_double(std::string_view name) {
  std::string s = env(name);
  const EnvVar* v = find(name);
  double d = 0;
  bool valid = v == nullptr || validate_value(*v, s).ok();
  if (valid && parse_number(s, &d)) return d;
  if (!s.empty()) SF_LOG_WARN("{}='{}' is not valid; using the default", name, s);
  if (v == nullptr || !parse_number(v->fallback, &d)) return 0;
  return d;
}

long env_int(std::string_view name) { return static_cast<long>(env_double(name)); }

bool env_bool(std::string_view name) {
  std::string s = env(name);
  if (s.empty()) return false;
  std::optional<bool> b = parse_flag(s);
  if (!b) {
    SF_LOG_WARN("{}='{}' is not a flag; using off", name, s);
    return false;
  }
  return *b;
}

std::optional<long> env_int_or_auto(std::string_view name) {
  std::string s = env(name);
  const EnvVar* v = find(name);
  double d = 0;
  if (s.empty() || lower(s) == "auto") return std::nullopt;
  if ((v != nullptr && !validate_value(*v, s).ok()) || !parse_number(s, &d)) {
    SF_LOG_WARN("{}='{}' is not valid; using auto", name, s);
    return std::nullopt;
  }
  return static_cast<long>(d);
}

std::string describe_env() {
  std::string out = "Environment variables (flags override them):\n";
  for (const auto& v : kVars) {
    const char* set = std::getenv(std::string(v.name).c_str());
    bool from_env = set != nullptr && *set != '\0';
    std::string value = env(v.name);
    out += "  " + std::string(v.name);
    out.append(v.name.size() < 32 ? 32 - v.name.size() : 1, ' ');
    std::string mark = !from_env                     ? ""
                       : validate_value(v, set).ok() ? "  [set]"
                                                     : "  [set, invalid]";
    if (v.kind == Kind::kSecret && !value.empty()) value = "(hidden)";
    out += (value.empty() ? std::string("(auto/off)") : value) + mark + "\n      " +
           std::string(v.help) + "; " + allowed_text(v) + "\n";
  }
  return out;
}

}  // namespace sf::config
