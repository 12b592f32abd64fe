// This machine's measurements for the capacity planner, and its plan.
//
// measure_machine() reads the CPU cores this process may run on
// (sched_getaffinity), the memory available (/proc/meminfo MemAvailable)
// and the GPUs: the CUDA inventory joined with NVML, and either one NVML
// snapshot or, with `baseline`, a Sampler's baseline over
// BASELINE_MEASUREMENT_DURATION seconds (10 samples per second).
// plan_for_machine() turns them into a plan with gpu/planner.h, choosing
// GPU or CPU workers and saying why.
//
// Errors: none; a GPU that cannot be used is a reason in gpu_status.
// Thread-safety: both may be called from any thread; measure_machine()
// blocks for the baseline period when asked for one.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "gpu/planner.h"
#include "gpu/sampler.h"

namespace sf::gpu {

struct MachineMeasurements {
  int cpu_cores = 1;
  std::uint64_t memory_available_bytes = 0;  // 0: unknown
  Status gpu_status;  // OK, or why no GPU can be planned ("libcuda.so.1 not found: ...")
  bool baseline_measured = false;  // false: one snapshot
  double baseline_seconds = 0;
  // One per GPU CUDA and NVML both see, matched by PCI location; `gpu` is
  // the CUDA ordinal. Footprint fields are left 0 (not measured here).
  std::vector<DeviceMeasurement> gpus;
  std::vector<DeviceBaseline> baselines;  // same order as gpus
  std::vector<GpuSample> samples;         // the samples behind the baselines
};

MachineMeasurements measure_machine(bool baseline, const SamplerOptions& options);

// What is to run: the engine ("sphinx" runs on the CPU only), the memory
// one instance takes on the CPU (0: unknown), and one instance's measured
// GPU footprint (memory 0: not measured; no GPU plan is made without it).
struct CapacityRequest {
  std::string engine = "sphinx";
  std::uint64_t cpu_instance_bytes = 0;
  std::uint64_t gpu_instance_memory_bytes = 0;
  double gpu_instance_utilization_percent = 0;
};

// GPU workers when there are usable GPUs, a GPU-capable engine and a
// measured footprint; CPU workers otherwise, with the reason as the first
// decision. kInvalidArgument only for an inconsistent footprint (see
// plan_gpu_workers).
Result<WorkerPlan> plan_for_machine(const MachineMeasurements& m, const CapacityRequest& request,
                                    const PlanOptions& options);

// {"cpu_cores", "memory_available_bytes", "gpu_reason", "baseline_measured",
//  "baseline_seconds", "gpus": [{"gpu", "name", "memory_total_bytes",
//  "baseline_memory_used_bytes", "baseline_utilization_percent",
//  "max_utilization_percent", "temperature_celsius", "samples"}]}
nlohmann::json measurements_to_json(const MachineMeasurements& m);

// [{"t", "gpus": [{"index", "utilization_percent", "memory_used_bytes",
// "memory_total_bytes", "temperature_celsius"}]}]
nlohmann::json samples_to_json(const std::vector<GpuSample>& samples);

}  // namespace sf::gpu
