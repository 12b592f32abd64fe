#include "gpu/planner.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/log.h"

namespace sf::gpu {
namespace {

// "7.20 GiB", or "96 MiB" under 1 GiB.
std::string gib(double bytes) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (bytes < 1024 * kMiB) return fmt::format("{:.0f} MiB", bytes / kMiB);
  return fmt::format("{:.2f} GiB", bytes / (1024 * kMiB));
}

Status check(const DeviceMeasurement& d) {
  const std::string who = "GPU " + std::to_string(d.gpu) + " measurement: ";
  if (d.memory_total_bytes == 0) return invalid_argument(who + "memory_total_bytes is 0");
  if (d.baseline_memory_used_bytes > d.memory_total_bytes) {
    return invalid_argument(who + "baseline_memory_used_bytes exceeds memory_total_bytes");
  }
  if (d.instance_memory_bytes == 0) return invalid_argument(who + "instance_memory_bytes is 0");
  for (double u : {d.baseline_utilization_percent, d.instance_utilization_percent}) {
    if (!(u >= 0 && u <= 100)) return invalid_argument(who + "a utilization is outside 0..100");
  }
  for (std::size_t i = 0; i < d.throughput.size(); ++i) {
    const ThroughputPoint& p = d.throughput[i];
    if (p.instances != static_cast<int>(i) + 1) {
      return invalid_argument(who + "throughput points must be for 1, 2, ... instances in order");
    }
    if (!p.out_of_memory && !(p.throughput >= 0 && std::isfinite(p.throughput))) {
      return invalid_argument(who + "throughput of " + std::to_string(p.instances) +
                              " instance(s) is negative");
    }
  }
  return {};
}

// The utilization bound of the seed, its thresholds starting at `t`.
int utilization_bound(double u, double t) {
  if (u < t) return 4;
  if (u < t + 20) return 3;
  if (u < t + 40) return 2;
  return 1;
}

// Instances on one GPU, or 0 when the GPU is not used.
int plan_one(const DeviceMeasurement& d, const PlanOptions& o, std::vector<std::string>& why) {
  const std::string g = "GPU " + std::to_string(d.gpu);
  const double free_bytes =
      static_cast<double>(d.memory_total_bytes - d.baseline_memory_used_bytes);
  const double one = static_cast<double>(d.instance_memory_bytes);
  const double per = one * (1.0 + o.memory_safety_buffer);
  why.push_back(fmt::format(
      "{} ({}): {} total, {} in use at baseline, {} free; {:.0f}% busy at baseline", g,
      d.name.empty() ? "unnamed" : d.name, gib(static_cast<double>(d.memory_total_bytes)),
      gib(static_cast<double>(d.baseline_memory_used_bytes)), gib(free_bytes),
      d.baseline_utilization_percent));
  if (free_bytes < one) {
    why.push_back(fmt::format("{}: not used: {} free cannot hold one instance ({})", g,
                              gib(free_bytes), gib(one)));
    return 0;
  }
  const int by_memory = static_cast<int>(std::floor(free_bytes / per));
  why.push_back(fmt::format("{}: memory bound {} = floor({} free / {} per instance ({} x {:.2f}))",
                            g, by_memory, gib(free_bytes), gib(per), gib(one),
                            1.0 + o.memory_safety_buffer));
  const double t = o.min_utilization_threshold;
  double u = d.instance_utilization_percent;
  std::string u_what = fmt::format("{:.0f}% busy with one instance", u);
  if (d.baseline_utilization_percent > u) {
    u = d.baseline_utilization_percent;
    u_what = fmt::format("{:.0f}% busy at baseline (more than with one instance, {:.0f}%)", u,
                         d.instance_utilization_percent);
  }
  const int by_util = utilization_bound(u, t);
  why.push_back(fmt::format(
      "{}: utilization bound {}: {} (4 below {:.0f}%, 3 below {:.0f}%, 2 below {:.0f}%, else 1)", g,
      by_util, u_what, t, t + 20, t + 40));
  int n = std::max(1, std::min(by_memory, by_util));
  why.push_back(fmt::format("{}: the stricter bound, at least 1: {} instance(s)", g, n));

  if (!d.throughput.empty()) {
    int best = 0;
    double best_tp = 0;
    std::string stop;
    for (const ThroughputPoint& p : d.throughput) {
      if (p.out_of_memory) {
        stop = fmt::format("out of memory with {} instances", p.instances);
        break;
      }
      if (best == 0) {
        best = 1;
        best_tp = p.throughput;
        continue;
      }
      const double gain =
          best_tp > 0 ? p.throughput / best_tp - 1.0 : (p.throughput > 0 ? 1.0 : 0.0);
      if (gain < o.min_throughput_gain) {
        stop = fmt::format(
            "{} instances give {:.3g} ({:+.1f}% over {:.3g} with {}), under +{:.0f}%", p.instances,
            p.throughput, gain * 100, best_tp, best, o.min_throughput_gain * 100);
        break;
      }
      why.push_back(fmt::format("{}: {} instances give {:.3g} ({:+.1f}% over {:.3g} with {})", g,
                                p.instances, p.throughput, gain * 100, best_tp, best));
      best = p.instances;
      best_tp = p.throughput;
    }
    if (best == 0) {
      why.push_back(fmt::format("{}: not used: one instance already ran out of memory", g));
      return 0;
    }
    if (stop.empty())
      stop =
          fmt::format("measured up to {} instances, still growing", d.throughput.back().instances);
    why.push_back(
        fmt::format("{}: measured throughput decides: {} instance(s) ({}); the bounds said {}", g,
                    best, stop, n));
    n = best;
  }
  if (n > o.max_models_per_gpu) {
    why.push_back(fmt::format("{}: capped at MAX_MODELS_PER_GPU={}", g, o.max_models_per_gpu));
    n = o.max_models_per_gpu;
  }
  return n;
}

}  // namespace

int WorkerPlan::total_instances() const {
  int n = 0;
  for (const WorkerSpec& w : workers) n += w.instances;
  return n;
}

bool WorkerPlan::uses_gpu() const {
  return std::any_of(workers.begin(), workers.end(),
                     [](const WorkerSpec& w) { return w.gpu >= 0; });
}

PlanOptions plan_options_from_env() {
  PlanOptions o;
  o.memory_safety_buffer = config::env_double("GPU_MEMORY_SAFETY_BUFFER");
  o.min_utilization_threshold = config::env_double("MIN_GPU_UTILIZATION_THRESHOLD");
  o.max_models_per_gpu = static_cast<int>(config::env_int("MAX_MODELS_PER_GPU"));
  o.force_single_gpu = config::env_bool("FORCE_SINGLE_GPU");
  if (std::optional<long> n = config::env_int_or_auto("GPU_WORKER_PROCESSES"))
    o.worker_processes = static_cast<int>(*n);
  return o;
}

Result<WorkerPlan> plan_gpu_workers(const std::vector<DeviceMeasurement>& devices,
                                    const PlanOptions& options) {
  if (devices.empty()) return invalid_argument("GPU plan: no GPU measured");
  if (options.max_models_per_gpu < 1)
    return invalid_argument("GPU plan: max_models_per_gpu must be at least 1");
  if (options.worker_processes && *options.worker_processes < 1) {
    return invalid_argument("GPU plan: worker_processes must be at least 1");
  }
  if (!(options.memory_safety_buffer >= 0))
    return invalid_argument("GPU plan: negative memory safety buffer");
  for (const DeviceMeasurement& d : devices) SF_RETURN_IF_ERROR(check(d));

  WorkerPlan plan;
  std::vector<const DeviceMeasurement*> used;
  for (const DeviceMeasurement& d : devices) used.push_back(&d);
  std::sort(used.begin(), used.end(), [](auto* a, auto* b) { return a->gpu < b->gpu; });
  if (options.force_single_gpu && used.size() > 1) {
    plan.decisions.push_back(fmt::format("FORCE_SINGLE_GPU: GPU {} only, {} other GPU(s) left out",
                                         used[0]->gpu, used.size() - 1));
    used.resize(1);
  }
  std::vector<std::pair<int, int>> per_gpu;  // (gpu, instances)
  for (const DeviceMeasurement* d : used) {
    int n = plan_one(*d, options, plan.decisions);
    if (n > 0) per_gpu.emplace_back(d->gpu, n);
  }
  if (per_gpu.empty()) {
    plan.decisions.push_back("no GPU can hold an instance: plan CPU workers instead");
    return plan;
  }

  if (!options.worker_processes) {
    for (auto [gpu, n] : per_gpu) plan.workers.push_back({gpu, n, 1});
    plan.decisions.push_back(fmt::format(
        "GPU_WORKER_PROCESSES=auto: one worker process per GPU, {} in all", plan.workers.size()));
    return plan;
  }
  const int want = *options.worker_processes;
  if (want < static_cast<int>(per_gpu.size())) {
    plan.decisions.push_back(
        fmt::format("GPU_WORKER_PROCESSES={}: the first {} of {} planned GPU(s) only", want, want,
                    per_gpu.size()));
    per_gpu.resize(static_cast<std::size_t>(want));
  }
  // Round robin: GPU i gets the processes i, i + G, ...; never more
  // processes than instances on a GPU.
  const int gpus = static_cast<int>(per_gpu.size());
  int made = 0;
  for (int i = 0; i < gpus; ++i) {
    auto [gpu, n] = per_gpu[static_cast<std::size_t>(i)];
    int procs = want / gpus + (i < want % gpus ? 1 : 0);
    procs = std::clamp(procs, 1, n);
    for (int k = 0; k < procs; ++k)
      plan.workers.push_back({gpu, n / procs + (k < n % procs ? 1 : 0), 1});
    made += procs;
  }
  plan.decisions.push_back(
      fmt::format("GPU_WORKER_PROCESSES={}: {} worker process(es) over {} GPU(s){}", want, made,
                  gpus, made < want ? " (no more processes than instances on a GPU)" : ""));
  return plan;
}

WorkerPlan plan_cpu_workers(int cores, std::uint64_t memory_bytes, std::uint64_t instance_bytes,
                            const PlanOptions& options) {
  WorkerPlan plan;
  cores = std::max(1, cores);
  int procs = 2;
  if (options.worker_processes) {
    procs = std::max(1, *options.worker_processes);
    plan.decisions.push_back(
        fmt::format("GPU_WORKER_PROCESSES={}: {} CPU worker process(es)", procs, procs));
  } else {
    procs = std::min(2, cores);
    plan.decisions.push_back(
        fmt::format("GPU_WORKER_PROCESSES=auto: {} CPU worker process(es) (2, as the seed{})",
                    procs, cores < 2 ? ", but only 1 core" : ""));
  }
  int instances = std::max(cores, procs);
  plan.decisions.push_back(
      fmt::format("{} core(s): {} instance(s) in all, {}", cores, instances,
                  instances == cores ? "one per core" : "at least one per process"));
  if (instance_bytes > 0) {
    const std::uint64_t by_memory = memory_bytes / instance_bytes;
    if (by_memory < static_cast<std::uint64_t>(instances)) {
      instances = static_cast<int>(std::max<std::uint64_t>(1, by_memory));
      plan.decisions.push_back(fmt::format(
          "memory bound {} = floor({} available / {} per instance){}", by_memory,
          gib(static_cast<double>(memory_bytes)), gib(static_cast<double>(instance_bytes)),
          by_memory == 0 ? ": at least 1" : ""));
    } else {
      plan.decisions.push_back(fmt::format(
          "memory holds {} instance(s) ({} available / {} per instance): not a limit", by_memory,
          gib(static_cast<double>(memory_bytes)), gib(static_cast<double>(instance_bytes))));
    }
  } else {
    plan.decisions.push_back("footprint of one instance unknown: no memory bound");
  }
  if (instances < procs) {
    plan.decisions.push_back(
        fmt::format("{} worker process(es), not {}: at least one instance each", instances, procs));
    procs = instances;
  }
  const int threads = std::max(1, cores / instances);
  for (int k = 0; k < procs; ++k) {
    plan.workers.push_back({-1, instances / procs + (k < instances % procs ? 1 : 0), threads});
  }
  plan.decisions.push_back(fmt::format(
      "{} instance(s) over {} process(es), {} compute thread(s) each", instances, procs, threads));
  return plan;
}

nlohmann::json plan_to_json(const WorkerPlan& plan) {
  using nlohmann::json;
  json workers = json::array();
  for (const WorkerSpec& w : plan.workers) {
    workers.push_back({{"device", w.gpu >= 0 ? "gpu:" + std::to_string(w.gpu) : std::string("cpu")},
                       {"gpu", w.gpu >= 0 ? json(w.gpu) : json(nullptr)},
                       {"instances", w.instances},
                       {"threads", w.threads}});
  }
  return {{"workers", workers},
          {"total_instances", plan.total_instances()},
          {"uses_gpu", plan.uses_gpu()},
          {"decisions", plan.decisions}};
}

void log_plan_decisions(const WorkerPlan& plan) {
  if (!config::env_bool("DEBUG_GPU_ALLOCATION")) return;
  for (const std::string& d : plan.decisions) SF_LOG_INFO("plan: {}", d);
}

}  // namespace sf::gpu
