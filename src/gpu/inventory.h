// The machine's GPU inventory: CUDA devices joined with NVML's live view.
//
// CUDA ordinals are what compute code binds to; NVML adds memory in use and
// utilization. The two enumerate in different orders, so devices are
// matched by PCI location. Either library may be missing: the inventory
// then says why, and never fails.
//
// Thread-safety: take_inventory() may be called from any thread.
#pragma once

#include <optional>
#include <vector>

#include "core/status.h"
#include "gpu/cuda_driver.h"
#include "gpu/nvml.h"

namespace sf::gpu {

struct GpuDevice {
  CudaDevice cuda;
  std::optional<NvmlDeviceStatus> nvml;  // empty when NVML is unavailable or has no match
};

struct GpuInventory {
  std::vector<GpuDevice> devices;  // CUDA ordinal order; empty when CUDA is unavailable
  Status cuda_status;              // OK, or why CUDA cannot be used
  std::optional<int> cuda_driver_version;  // 13000 = CUDA 13.0; empty when the driver is missing
  Status nvml_status;              // OK, or why NVML cannot be used

  // CUDA loaded, initialised, and at least one device.
  bool cuda_usable() const { return cuda_status.ok() && !devices.empty(); }
};

// Queries both libraries now (NVML values are a fresh snapshot).
GpuInventory take_inventory();

}  // namespace sf::gpu
