#include "core/config.h"

#include <cstdlib>
#include <string>

#include "core/log.h"

namespace sf::config {
namespace {

constexpr EnvVar kVars[] = {
    {"WHISPER_MODEL_SIZE", "base", "default Whisper model name for --engine whisper"},
    {"FORCE_SINGLE_GPU", "", "use only the first GPU (1/true)"},
    {"GPU_MEMORY_SAFETY_BUFFER", "0.2", "fraction of GPU memory kept free when sizing instances"},
    {"MIN_GPU_UTILIZATION_THRESHOLD", "30", "percent utilization below which another instance is added"},
    {"MAX_MODELS_PER_GPU", "4", "most engine instances on one GPU"},
    {"MAX_SEGMENT_DOWNLOADS", "6", "parallel segment downloads"},
    {"MAX_CLIP_DOWNLOADS", "8", "parallel clip downloads"},
    {"TRANSCRIPTION_TIMEOUT", "300", "seconds one segment may take to transcribe"},
    {"PIPELINE_STAGE_TIMEOUT", "60", "seconds a pipeline stage may wait for input"},
    {"GPU_WORKER_PROCESSES", "", "worker processes (default: one per GPU, 2 on CPU)"},
    {"WORKER_HEALTH_CHECK_INTERVAL", "30", "seconds between worker health checks"},
    {"PROCESS_RESTART_THRESHOLD", "5", "restarts before a worker is given up"},
    {"ENABLE_GPU_PROFILING", "", "measure GPU baseline and per-instance footprint (1/true)"},
    {"BASELINE_MEASUREMENT_DURATION", "30", "seconds of GPU baseline measurement"},
    {"PERFORMANCE_MONITORING_INTERVAL", "10", "seconds between performance samples"},
    {"ENABLE_CUDA_STREAMS", "", "one CUDA stream per engine instance (1/true)"},
    {"ENABLE_PIPELINE_LOGGING", "", "log every pipeline stage transition (1/true)"},
    {"DEBUG_GPU_ALLOCATION", "", "log GPU memory planning (1/true)"},
    {"SAVE_PROFILING_DATA", "", "write profiling data next to the output (1/true)"},
    {"STUDIOFLOW_LIBRARY", "", "transcript library file (default: $XDG_DATA_HOME or ~/.local/share, studioflow/library.db)"},
};

const EnvVar* find(std::string_view name) {
  for (const auto& v : kVars) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

}  // namespace

std::span<const EnvVar> env_vars() { return kVars; }

std::string env(std::string_view name) {
  const EnvVar* v = find(name);
  const char* set = std::getenv(std::string(name).c_str());
  if (set != nullptr && *set != '\0') return set;
  return v != nullptr ? std::string(v->fallback) : std::string();
}

double env_double(std::string_view name) {
  std::string s = env(name);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end == s.c_str() || *end != '\0') {
    if (!s.empty()) SF_LOG_WARN("{}='{}' is not a number; using the default", name, s);
    const EnvVar* v = find(name);
    return v != nullptr ? std::strtod(std::string(v->fallback).c_str(), nullptr) : 0;
  }
  return d;
}

long env_int(std::string_view name) { return static_cast<long>(env_double(name)); }

bool env_bool(std::string_view name) {
  std::string s = env(name);
  return s == "1" || s == "true" || s == "TRUE" || s == "yes" || s == "on";
}

std::string describe_env() {
  std::string out = "Environment variables (flags override them):\n";
  for (const auto& v : kVars) {
    const char* set = std::getenv(std::string(v.name).c_str());
    bool from_env = set != nullptr && *set != '\0';
    std::string value = env(v.name);
    out += "  " + std::string(v.name);
    out.append(v.name.size() < 32 ? 32 - v.name.size() : 1, ' ');
    out += (value.empty() ? std::string("(auto/off)") : value) + (from_env ? "  [set]" : "") + "\n      " +
           std::string(v.help) + "\n";
  }
  return out;
}

}  // namespace sf::config
