#include "gpu/sampler.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "core/config.h"
#include "core/log.h"

namespace sf::gpu {
namespace {

using Clock = std::chrono::steady_clock;

struct Accumulator {
  DeviceBaseline out;
  double mem_sum = 0;
  double util_sum = 0;
  int util_n = 0;
  double temp_sum = 0;
  int temp_n = 0;
};

}  // namespace

Result<std::vector<DeviceBaseline>> baseline_stats(std::span<const GpuSample> samples) {
  if (samples.empty()) return invalid_argument("GPU baseline: no sample");
  std::map<unsigned, Accumulator> by_index;
  for (const GpuSample& s : samples) {
    for (const NvmlDeviceStatus& d : s.devices) {
      Accumulator& a = by_index[d.index];
      DeviceBaseline& b = a.out;
      b.index = d.index;
      b.name = d.name;
      b.pci_domain = d.pci_domain;
      b.pci_bus = d.pci_bus;
      b.pci_device = d.pci_device;
      b.memory_total_bytes = std::max(b.memory_total_bytes, d.memory_total_bytes);
      b.max_memory_used_bytes = std::max(b.max_memory_used_bytes, d.memory_used_bytes);
      ++b.samples;
      a.mem_sum += static_cast<double>(d.memory_used_bytes);
      if (d.gpu_utilization_percent) {
        a.util_sum += *d.gpu_utilization_percent;
        ++a.util_n;
        b.max_utilization_percent =
            std::max(b.max_utilization_percent.value_or(0), *d.gpu_utilization_percent);
      }
      if (d.temperature_celsius) {
        a.temp_sum += *d.temperature_celsius;
        ++a.temp_n;
        b.max_temperature_celsius =
            std::max(b.max_temperature_celsius.value_or(0), *d.temperature_celsius);
      }
    }
  }
  if (by_index.empty()) return invalid_argument("GPU baseline: the samples hold no GPU");
  std::vector<DeviceBaseline> out;
  for (auto& [index, a] : by_index) {
    a.out.mean_memory_used_bytes = a.mem_sum / a.out.samples;
    if (a.util_n > 0) a.out.mean_utilization_percent = a.util_sum / a.util_n;
    if (a.temp_n > 0) a.out.mean_temperature_celsius = a.temp_sum / a.temp_n;
    out.push_back(std::move(a.out));
  }
  return out;
}

SamplerOptions sampler_options_from_env() {
  SamplerOptions o;
  o.baseline_seconds = config::env_double("BASELINE_MEASUREMENT_DURATION");
  o.interval_seconds = config::env_double("PERFORMANCE_MONITORING_INTERVAL");
  return o;
}

Result<std::unique_ptr<Sampler>> Sampler::start(const SamplerOptions& options) {
  if (!(options.baseline_interval > 0) || !(options.interval_seconds > 0)) {
    return invalid_argument("GPU sampler: sampling intervals must be positive");
  }
  if (!(options.baseline_seconds >= 0))
    return invalid_argument("GPU sampler: negative baseline duration");
  SF_ASSIGN_OR_RETURN(std::vector<NvmlDeviceStatus> first, nvml_snapshot());
  GpuSample s;
  s.devices = std::move(first);
  std::unique_ptr<Sampler> sampler(new Sampler(options, std::move(s)));
  sampler->thread_ = std::thread([p = sampler.get()] { p->loop(); });
  return sampler;
}

Sampler::Sampler(const SamplerOptions& options, GpuSample first) : options_(options) {
  if (options_.baseline_seconds > 0) {
    baseline_.push_back(first);
  } else {
    baseline_done_ = true;
    later_.push_back(first);
  }
  latest_ = std::move(first);
}

Sampler::~Sampler() { stop(); }

void Sampler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // A second caller waits here until the first one has joined.
  std::call_once(joined_, [this] {
    if (thread_.joinable()) thread_.join();
  });
  std::lock_guard lock(mu_);
  baseline_done_ = true;
}

void Sampler::loop() {
  const Clock::time_point t0 = Clock::now();
  auto since = [&](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
  // Deadlines advance from the start, not from each wake-up, so the rate
  // does not drift with the time a query takes.
  Clock::time_point next = t0;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const bool in_baseline = !baseline_done_;
    next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
        in_baseline ? options_.baseline_interval : options_.interval_seconds));
    if (in_baseline && since(next) > options_.baseline_seconds) {
      baseline_done_ = true;
      cv_.notify_all();
      next = Clock::now();
      continue;
    }
    if (cv_.wait_until(lock, next, [&] { return stopping_; })) break;
    lock.unlock();
    Result<std::vector<NvmlDeviceStatus>> snap = nvml_snapshot();
    const double t = since(Clock::now());
    lock.lock();
    if (!snap.ok()) {
      last_error_ = snap.status();
      SF_LOG_DEBUG("GPU sampler: {}", snap.status().message());
      continue;
    }
    GpuSample s{t, std::move(snap).value()};
    latest_ = s;
    if (!baseline_done_) {
      baseline_.push_back(std::move(s));
    } else {
      later_.push_back(std::move(s));
      while (later_.size() > std::max<std::size_t>(1, options_.history)) later_.pop_front();
    }
  }
  baseline_done_ = true;
  cv_.notify_all();
}

Result<std::vector<DeviceBaseline>> Sampler::wait_baseline() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return baseline_done_ || stopping_; });
  if (baseline_.empty() && latest_) return baseline_stats(std::span<const GpuSample>(&*latest_, 1));
  return baseline_stats(baseline_);
}

bool Sampler::baseline_complete() const {
  std::lock_guard lock(mu_);
  return baseline_done_;
}

std::vector<GpuSample> Sampler::baseline_samples() const {
  std::lock_guard lock(mu_);
  return baseline_;
}

std::vector<GpuSample> Sampler::later_samples() const {
  std::lock_guard lock(mu_);
  return {later_.begin(), later_.end()};
}

std::optional<GpuSample> Sampler::latest() const {
  std::lock_guard lock(mu_);
  return latest_;
}

Status Sampler::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace sf::gpu
