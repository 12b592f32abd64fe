// The CUDA driver API, loaded at run time.
//
// libcuda.so.1 is opened with dlopen on first use and never linked, so the
// same studioflow binary runs on machines with and without an NVIDIA driver.
// Only the handful of driver entry points needed for a device inventory are
// resolved here; CUDA compute code (the Whisper backend) has its own loader.
//
// Errors: every function returns kUnavailable with the reason when CUDA
// cannot be used — "libcuda.so.1 not found: <dlerror>", "cuInit failed:
// <CUDA error name> (<code>)", "no CUDA device" — and never crashes or
// aborts on a machine without a GPU.
//
// Thread-safety: all functions may be called from any thread. The default
// driver is loaded and initialised once per process (std::call_once); the
// result of that attempt, success or failure, is kept for the process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::gpu {

// One CUDA device as the driver reports it, in CUDA ordinal order
// (which honours CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER).
struct CudaDevice {
  int ordinal = 0;
  std::string name;
  std::uint64_t total_memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
  int multiprocessors = 0;
  // PCI location, used to match a CUDA device with its NVML handle (NVML
  // enumerates in PCI order, CUDA by default fastest first).
  int pci_domain = 0;
  int pci_bus = 0;
  int pci_device = 0;
};

// Lists the devices of the default driver (libcuda.so.1).
// kUnavailable with the reason when the driver is missing, cuInit fails or
// there is no device.
Result<std::vector<CudaDevice>> list_cuda_devices();

// The driver's CUDA version as cuDriverGetVersion reports it
// (1000 * major + 10 * minor, e.g. 13000 for CUDA 13.0).
// kUnavailable with the reason as above (except "no CUDA device": a loaded
// driver has a version even with no device).
Result<int> cuda_driver_version();

// Like list_cuda_devices(), but loads the driver from `library` (a soname
// or path) instead of the default one. Each call dlopens `library` again
// (dlopen reference-counts; the handle is kept open for the process because
// an initialised driver must not be unloaded). For tests and diagnostics.
Result<std::vector<CudaDevice>> list_cuda_devices_from(const std::string& library);

// "8.9" style text for a device's compute capability.
std::string compute_capability(const CudaDevice& device);

}  // namespace sf::gpu
