#include "gpu/capacity.h"

#include <sched.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "gpu/inventory.h"

namespace sf::gpu {
namespace {

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::uint64_t memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    std::uint64_t kib = 0;
    if (ls >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

DeviceBaseline from_snapshot(const NvmlDeviceStatus& n) {
  GpuSample s;
  s.devices.push_back(n);
  return baseline_stats(std::span<const GpuSample>(&s, 1)).value().front();
}

}  // namespace

MachineMeasurements measure_machine(bool baseline, const SamplerOptions& options) {
  MachineMeasurements m;
  m.cpu_cores = usable_cores();
  m.memory_available_bytes = memory_available();
  GpuInventory inv = take_inventory();
  if (!inv.cuda_usable()) {
    m.gpu_status = inv.cuda_status.ok() ? unavailable("no CUDA device") : inv.cuda_status;
    return m;
  }
  if (!inv.nvml_status.ok()) {
    m.gpu_status =
        unavailable("NVML is needed to measure GPU memory in use: " + inv.nvml_status.message());
    return m;
  }
  std::vector<DeviceBaseline> stats;
  if (baseline) {
    SF_LOG_INFO("measuring the GPU baseline: {} s, {} samples per second", options.baseline_seconds,
                1.0 / options.baseline_interval);
    auto sampler = Sampler::start(options);
    if (sampler.ok()) {
      auto b = (*sampler)->wait_baseline();
      (*sampler)->stop();
      if (b.ok()) {
        stats = std::move(b).value();
        m.samples = (*sampler)->baseline_samples();
        m.baseline_measured = true;
        m.baseline_seconds = options.baseline_seconds;
      }
    }
    if (!m.baseline_measured) SF_LOG_WARN("GPU baseline not measured; using one snapshot");
  }
  for (const GpuDevice& d : inv.devices) {
    std::optional<DeviceBaseline> b;
    for (const DeviceBaseline& s : stats) {
      if (s.pci_domain == d.cuda.pci_domain && s.pci_bus == d.cuda.pci_bus &&
          s.pci_device == d.cuda.pci_device)
        b = s;
    }
    if (!b && d.nvml) b = from_snapshot(*d.nvml);
    if (!b) continue;  // CUDA sees it, NVML does not: its use cannot be measured
    DeviceMeasurement dm;
    dm.gpu = d.cuda.ordinal;
    dm.name = d.cuda.name;
    dm.memory_total_bytes =
        b->memory_total_bytes != 0 ? b->memory_total_bytes : d.cuda.total_memory_bytes;
    dm.baseline_memory_used_bytes = static_cast<std::uint64_t>(b->mean_memory_used_bytes);
    dm.baseline_utilization_percent = b->mean_utilization_percent.value_or(0);
    m.gpus.push_back(std::move(dm));
    m.baselines.push_back(*b);
  }
  if (m.gpus.empty()) m.gpu_status = unavailable("no GPU that both CUDA and NVML see");
  return m;
}

Result<WorkerPlan> plan_for_machine(const MachineMeasurements& m, const CapacityRequest& request,
                                    const PlanOptions& options) {
  std::string why_cpu;
  if (!m.gpu_status.ok()) {
    why_cpu = "no GPU: " + m.gpu_status.message();
  } else if (request.engine == "sphinx") {
    why_cpu = "the sphinx engine runs on the CPU only";
  } else if (request.gpu_instance_memory_bytes == 0) {
    why_cpu = "no measured GPU footprint of one " + request.engine +
              " instance (this build's engines run on the CPU): CPU workers";
  } else {
    std::vector<DeviceMeasurement> devices = m.gpus;
    for (DeviceMeasurement& d : devices) {
      d.instance_memory_bytes = request.gpu_instance_memory_bytes;
      d.instance_utilization_percent = request.gpu_instance_utilization_percent;
    }
    SF_ASSIGN_OR_RETURN(WorkerPlan plan, plan_gpu_workers(devices, options));
    if (!plan.workers.empty()) return plan;
    WorkerPlan cpu = plan_cpu_workers(m.cpu_cores, m.memory_available_bytes,
                                      request.cpu_instance_bytes, options);
    plan.decisions.insert(plan.decisions.end(), cpu.decisions.begin(), cpu.decisions.end());
    plan.workers = cpu.workers;
    return plan;
  }
  WorkerPlan plan =
      plan_cpu_workers(m.cpu_cores, m.memory_available_bytes, request.cpu_instance_bytes, options);
  plan.decisions.insert(plan.decisions.begin(), why_cpu);
  return plan;
}

nlohmann::json measurements_to_json(const MachineMeasurements& m) {
  using nlohmann::json;
  json gpus = json::array();
  for (std::size_t i = 0; i < m.gpus.size(); ++i) {
    const DeviceMeasurement& d = m.gpus[i];
    const DeviceBaseline& b = m.baselines[i];
    gpus.push_back(
        {{"gpu", d.gpu},
         {"name", d.name},
         {"memory_total_bytes", d.memory_total_bytes},
         {"baseline_memory_used_bytes", d.baseline_memory_used_bytes},
         {"baseline_utilization_percent", d.baseline_utilization_percent},
         {"max_utilization_percent",
          b.max_utilization_percent ? json(*b.max_utilization_percent) : json(nullptr)},
         {"temperature_celsius",
          b.mean_temperature_celsius ? json(*b.mean_temperature_celsius) : json(nullptr)},
         {"samples", b.samples}});
  }
  return {{"cpu_cores", m.cpu_cores},
          {"memory_available_bytes", m.memory_available_bytes},
          {"gpu_reason", m.gpu_status.ok() ? json(nullptr) : json(m.gpu_status.message())},
          {"baseline_measured", m.baseline_measured},
          {"baseline_seconds", m.baseline_seconds},
          {"gpus", gpus}};
}

nlohmann::json samples_to_json(const std::vector<GpuSample>& samples) {
  using nlohmann::json;
  json out = json::array();
  for (const GpuSample& s : samples) {
    json gpus = json::array();
    for (const NvmlDeviceStatus& d : s.devices) {
      gpus.push_back(
          {{"index", d.index},
           {"utilization_percent",
            d.gpu_utilization_percent ? json(*d.gpu_utilization_percent) : json(nullptr)},
           {"memory_used_bytes", d.memory_used_bytes},
           {"memory_total_bytes", d.memory_total_bytes},
           {"temperature_celsius",
            d.temperature_celsius ? json(*d.temperature_celsius) : json(nullptr)}});
    }
    out.push_back({{"t", s.t}, {"gpus", gpus}});
  }
  return out;
}

}  // namespace sf::gpu
