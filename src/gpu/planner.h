// The capacity planner: measurements in, a worker plan out.
//
// Pure functions: no device is touched, nothing is logged, the same
// measurements always give the same plan. The caller measures (gpu/sampler.h
// for the baseline, the worker pool for one instance's footprint and for the
// throughput of 1, 2, ... instances) and runs the plan.
//
// GPU rule, per GPU (the seed design's AdaptiveModelManager, then better):
//   memory bound      floor((total - baseline used) / (footprint * (1 + buffer)))
//                     buffer = GPU_MEMORY_SAFETY_BUFFER (0.2: x1.2)
//   utilization bound with t = MIN_GPU_UTILIZATION_THRESHOLD (30):
//                     u < t: 4, u < t+20: 3, u < t+40: 2, else 1, where u is
//                     the GPU's utilization while one instance runs (or the
//                     baseline utilization, if higher: a busy GPU)
//   count             the stricter of the two, at least 1, at most
//                     MAX_MODELS_PER_GPU. A GPU whose free memory cannot hold
//                     one instance even without the buffer is not used.
//   throughput        when throughputs of n = 1, 2, ... instances were
//                     measured, they decide instead of the two bounds: the
//                     count grows while throughput grows by >= 5 % over the
//                     best so far, and the best is kept; an out-of-memory at
//                     n stops at n - 1 (at 1: the GPU is not used).
//                     MAX_MODELS_PER_GPU still caps it.
// FORCE_SINGLE_GPU plans GPU 0 only. GPU_WORKER_PROCESSES: auto = one worker
// process per GPU holding all of that GPU's instances; a number N spreads N
// processes over the planned GPUs round robin (the first N GPUs when N is
// fewer), each GPU's instances split among its processes.
//
// CPU rule (no GPU, or a CPU-only engine such as sphinx): processes =
// GPU_WORKER_PROCESSES if a number, else 2 (the seed), never more than the
// cores unless asked; total instances = cores (at least one per process),
// limited by memory / one instance's footprint (fewer processes when memory
// cannot hold one instance each); instances spread evenly; each instance
// gets cores / instances compute threads (at least 1).
//
// Every plan carries its decisions: one line each, with the numbers behind
// it, in the order taken ("GPU 0: memory bound 5 = floor(7.2 GiB free /
// 1.44 GiB per instance (1.2 GiB x 1.20))").
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::gpu {

// Throughput measured with `instances` instances transcribing at once on one
// GPU (any unit, e.g. seconds of audio per second; only ratios are used).
struct ThroughputPoint {
  int instances = 0;
  double throughput = 0;
  bool out_of_memory = false;  // loading or running the n-th instance ran out of memory
};

// What was measured on one GPU.
struct DeviceMeasurement {
  int gpu = 0;  // CUDA ordinal
  std::string name;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t baseline_memory_used_bytes = 0;  // before any instance (other processes included)
  double baseline_utilization_percent = 0;       // mean over the baseline
  // One instance: memory delta after loading plus one transcription, and the
  // GPU's utilization while it transcribes.
  std::uint64_t instance_memory_bytes = 0;
  double instance_utilization_percent = 0;
  // Optional: n = 1, 2, ... in order, consecutive.
  std::vector<ThroughputPoint> throughput;
};

struct PlanOptions {
  double memory_safety_buffer = 0.2;      // GPU_MEMORY_SAFETY_BUFFER
  double min_utilization_threshold = 30;  // MIN_GPU_UTILIZATION_THRESHOLD
  int max_models_per_gpu = 4;             // MAX_MODELS_PER_GPU
  bool force_single_gpu = false;          // FORCE_SINGLE_GPU
  std::optional<int> worker_processes;    // GPU_WORKER_PROCESSES; empty = auto
  double min_throughput_gain = 0.05;      // another instance must add >= 5 %
};

// From the environment (validated by config::validate_env()).
PlanOptions plan_options_from_env();

struct WorkerSpec {
  int gpu = -1;  // CUDA ordinal; -1 = CPU
  int instances = 1;
  int threads = 1;  // compute threads per instance
};

struct WorkerPlan {
  std::vector<WorkerSpec> workers;
  std::vector<std::string> decisions;  // why, with the numbers, in order
  int total_instances() const;
  bool uses_gpu() const;
};

// Plans GPU workers. An empty `workers` (every GPU unusable) means: plan CPU
// workers instead (the decisions say why). kInvalidArgument, naming the GPU
// and the field, for inconsistent measurements: no device, total memory 0,
// baseline above total, footprint memory 0, a utilization outside 0..100,
// throughput points not numbered 1, 2, ... or negative, options out of
// range (max_models_per_gpu < 1, worker_processes < 1, negative buffer).
Result<WorkerPlan> plan_gpu_workers(const std::vector<DeviceMeasurement>& devices,
                                    const PlanOptions& options);

// Plans CPU workers for `cores` cores and `memory_bytes` of memory available,
// one instance taking `instance_bytes` (0: unknown, no memory bound).
// cores < 1 counts as 1. Never fails.
WorkerPlan plan_cpu_workers(int cores, std::uint64_t memory_bytes, std::uint64_t instance_bytes,
                            const PlanOptions& options);

// {"workers": [{"device": "gpu:0" | "cpu", "gpu": 0 | null, "instances",
// "threads"}], "total_instances", "uses_gpu", "decisions": [...]}
nlohmann::json plan_to_json(const WorkerPlan& plan);

// Logs every decision at info level when DEBUG_GPU_ALLOCATION is set (the
// one impure helper here; callers invoke it once per plan made).
void log_plan_decisions(const WorkerPlan& plan);

}  // namespace sf::gpu
