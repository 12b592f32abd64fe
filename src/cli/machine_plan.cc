#include "cli/machine_plan.h"

#include <filesystem>

#include "asr/whisper/model_store.h"
#include "core/config.h"
#include "core/log.h"

namespace sf::cli {

InstanceEstimate estimate_cpu_instance(const asr::EngineOptions& engine) {
  constexpr std::uint64_t kMiB = 1024 * 1024;
  if (engine.engine != "whisper") return {96 * kMiB, "sphinx: 96 MiB per instance (measured RSS)"};
  std::string model = engine.model.empty() ? config::env("WHISPER_MODEL_SIZE") : engine.model;
  auto path = asr::whisper::resolve_model(model);
  if (!path.ok()) return {0, "whisper: model '" + model + "' not found, footprint unknown"};
  namespace fs = std::filesystem;
  std::error_code ec;
  std::uint64_t bytes = 0;
  if (fs::is_directory(*path, ec)) {
    for (auto it = fs::recursive_directory_iterator(*path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) bytes += it->file_size(ec);
    }
  } else {
    bytes = fs::file_size(*path, ec);
  }
  return {bytes + 128 * kMiB, "whisper: model files of " + *path + " + 128 MiB"};
}

Result<MachinePlan> plan_this_machine(const asr::EngineOptions& engine,
                                      std::uint64_t gpu_instance_memory_bytes,
                                      double gpu_instance_utilization_percent) {
  MachinePlan out;
  out.measurements = gpu::measure_machine(config::env_bool("ENABLE_GPU_PROFILING"),
                                          gpu::sampler_options_from_env());
  out.cpu_instance = estimate_cpu_instance(engine);
  gpu::CapacityRequest request;
  request.engine = engine.engine;
  request.cpu_instance_bytes = out.cpu_instance.bytes;
  request.gpu_instance_memory_bytes = gpu_instance_memory_bytes;
  request.gpu_instance_utilization_percent = gpu_instance_utilization_percent;
  SF_ASSIGN_OR_RETURN(
      out.plan, gpu::plan_for_machine(out.measurements, request, gpu::plan_options_from_env()));
  gpu::log_plan_decisions(out.plan);
  return out;
}

}  // namespace sf::cli
