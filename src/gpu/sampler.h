// GPU monitoring: NVML samples taken on a thread of their own, and the
// baseline statistics the capacity planner starts from.
//
// A Sampler samples every GPU NVML sees 10 times a second for the baseline
// period (BASELINE_MEASUREMENT_DURATION), then every
// PERFORMANCE_MONITORING_INTERVAL seconds until it is stopped. Each sample
// holds, per GPU, utilization, memory used / total and temperature
// (gpu/nvml.h). The baseline statistics (mean / max utilization, mean / max
// memory used, temperature) are computed by baseline_stats(), a pure
// function, so recorded samples give the same numbers as live ones.
//
// Errors: Sampler::start() returns kUnavailable with NVML's reason ("libnvidia-
// ml.so.1 not found: ...", "no NVML device") on a machine without a usable
// GPU, and starts no thread. A query failing later (a GPU fallen off the
// bus) does not stop the sampler: the sample is skipped and the error kept
// (last_error()).
//
// Memory: baseline samples are all kept (at most 10 per second of baseline);
// later samples in a ring of SamplerOptions::history.
//
// Thread-safety: every member may be called from any thread; the samples
// are guarded by an internal mutex. The destructor stops and joins the
// thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "gpu/nvml.h"

namespace sf::gpu {

// Every GPU's state at one moment.
struct GpuSample {
  double t = 0;  // seconds since the sampler started (or since the first recorded sample)
  std::vector<NvmlDeviceStatus> devices;  // NVML index order
};

// One GPU over the baseline period.
struct DeviceBaseline {
  unsigned index = 0;  // NVML index
  std::string name;
  int samples = 0;  // samples that included this GPU
  std::uint64_t memory_total_bytes = 0;
  double mean_memory_used_bytes = 0;
  std::uint64_t max_memory_used_bytes = 0;
  // Over the samples that reported them; empty when none did.
  std::optional<double> mean_utilization_percent;
  std::optional<unsigned> max_utilization_percent;
  std::optional<double> mean_temperature_celsius;
  std::optional<unsigned> max_temperature_celsius;
  int pci_domain = 0, pci_bus = 0, pci_device = 0;
};

// Per-GPU statistics over `samples`, in NVML index order of the GPUs seen.
// A GPU missing from some samples counts over those that hold it.
// kInvalidArgument when `samples` is empty or holds no GPU.
Result<std::vector<DeviceBaseline>> baseline_stats(std::span<const GpuSample> samples);

struct SamplerOptions {
  double baseline_seconds = 30;    // BASELINE_MEASUREMENT_DURATION; 0: no baseline period
  double baseline_interval = 0.1;  // 10 samples per second, as the seed design
  double interval_seconds = 10;    // PERFORMANCE_MONITORING_INTERVAL
  std::size_t history = 1024;      // samples kept after the baseline (oldest dropped)
};

// BASELINE_MEASUREMENT_DURATION and PERFORMANCE_MONITORING_INTERVAL.
SamplerOptions sampler_options_from_env();

class Sampler {
 public:
  // Takes the first sample now and, when it succeeds, starts the sampling
  // thread. kUnavailable (NVML's reason) without a GPU; kInvalidArgument
  // for non-positive intervals or a negative baseline.
  static Result<std::unique_ptr<Sampler>> start(const SamplerOptions& options);

  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Blocks until the baseline period is over (or stop() was called), then
  // returns its statistics (with no baseline period: those of the first
  // sample).
  Result<std::vector<DeviceBaseline>> wait_baseline();

  bool baseline_complete() const;
  std::vector<GpuSample> baseline_samples() const;
  // Samples after the baseline, oldest first (at most options.history).
  std::vector<GpuSample> later_samples() const;
  std::optional<GpuSample> latest() const;
  // OK, or the last query error seen while sampling.
  Status last_error() const;

  // Stops the thread (idempotent); samples taken stay readable.
  void stop();

 private:
  Sampler(const SamplerOptions& options, GpuSample first);
  void loop();

  const SamplerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;            // GUARDED_BY(mu_)
  bool baseline_done_ = false;       // GUARDED_BY(mu_)
  std::vector<GpuSample> baseline_;  // GUARDED_BY(mu_)
  std::deque<GpuSample> later_;      // GUARDED_BY(mu_)
  std::optional<GpuSample> latest_;  // GUARDED_BY(mu_)
  Status last_error_;                // GUARDED_BY(mu_)
  std::thread thread_;
  std::once_flag joined_;
};

}  // namespace sf::gpu
