// NVML (the NVIDIA management library), loaded at run time.
//
// libnvidia-ml.so.1 is opened with dlopen on first use and never linked.
// NVML gives what the CUDA driver does not: memory in use and utilization,
// as seen by the whole machine (other processes included). The capacity
// planner and the sampler read it; `studioflow gpu` prints it.
//
// Errors: kUnavailable with the reason — "libnvidia-ml.so.1 not found:
// <dlerror>", "nvmlInit failed: <NVML error string> (<code>)", "no NVML
// device" — never a crash on a machine without a GPU.
//
// Thread-safety: all functions may be called from any thread. The library
// is loaded and nvmlInit_v2 called once per process (std::call_once); the
// outcome is kept. Queries are serialised by an internal mutex so that the
// nvmlShutdown run at process exit never overlaps a query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::gpu {

// One device's state at the moment of the snapshot, in NVML index order
// (PCI order, which may differ from CUDA's ordinals; match by PCI location).
struct NvmlDeviceStatus {
  unsigned index = 0;
  std::string name;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint64_t memory_free_bytes = 0;
  // Percent of the last sample period the GPU / its memory was busy.
  // Empty where the device does not report it (e.g. MIG instances).
  std::optional<unsigned> gpu_utilization_percent;
  std::optional<unsigned> memory_utilization_percent;
  // GPU die temperature (nvmlDeviceGetTemperature, NVML_TEMPERATURE_GPU).
  // Empty where the device or the library does not report it.
  std::optional<unsigned> temperature_celsius;
  int pci_domain = 0;
  int pci_bus = 0;
  int pci_device = 0;
};

// Reads every device's memory, utilization and temperature now.
// kUnavailable with the reason when NVML cannot be used or sees no device;
// kInternal when a query on an existing device fails.
Result<std::vector<NvmlDeviceStatus>> nvml_snapshot();

// The NVIDIA driver version string (e.g. "580.65.06"), or kUnavailable.
Result<std::string> nvml_driver_version();

}  // namespace sf::gpu
