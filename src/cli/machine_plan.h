// The capacity plan of this machine for one engine, as `gpu --plan` and the
// profiling data of `supercut` show it (gpu/capacity.h does the work).
//
// Thread-safety: may be called from any thread; blocks for the GPU baseline
// (BASELINE_MEASUREMENT_DURATION seconds) when ENABLE_GPU_PROFILING is set
// and a GPU is there.
#pragma once

#include <cstdint>
#include <string>

#include "asr/engine.h"
#include "core/status.h"
#include "gpu/capacity.h"
#include "gpu/planner.h"

namespace sf::cli {

// Memory one engine instance takes on the CPU, and where the figure comes
// from: PocketSphinx with its en-us model, 96 MiB (RSS of 2 instances minus
// 1, measured on a 20 s transcription); Whisper, its model folder's files
// plus 128 MiB of working buffers (0 when the model cannot be found).
struct InstanceEstimate {
  std::uint64_t bytes = 0;
  std::string source;
};
InstanceEstimate estimate_cpu_instance(const asr::EngineOptions& engine);

struct MachinePlan {
  gpu::MachineMeasurements measurements;
  InstanceEstimate cpu_instance;
  gpu::WorkerPlan plan;
};

// Measures (a GPU baseline with ENABLE_GPU_PROFILING, else one snapshot),
// plans from the environment's options, and logs the decisions when
// DEBUG_GPU_ALLOCATION is set. `gpu_instance_memory_bytes` /
// `gpu_instance_utilization_percent`: one instance's measured GPU footprint
// (0: none, no GPU plan). Errors: kInvalidArgument for a bad footprint.
Result<MachinePlan> plan_this_machine(const asr::EngineOptions& engine,
                                      std::uint64_t gpu_instance_memory_bytes,
                                      double gpu_instance_utilization_percent);

}  // namespace sf::cli
