#include "gpu/cuda_driver.h"

#include <dlfcn.h>

#include <cstddef>
#include <mutex>

#include "core/log.h"

namespace sf::gpu {
namespace {

// The subset of cuda.h this file needs, declared here so that building
// does not require the CUDA toolkit. Values are fixed by the driver ABI.
using CUresult = int;
using CUdevice = int;
constexpr CUresult kCudaSuccess = 0;
constexpr int kAttrMultiprocessorCount = 16;
constexpr int kAttrPciBusId = 33;
constexpr int kAttrPciDeviceId = 34;
constexpr int kAttrPciDomainId = 50;
constexpr int kAttrComputeMajor = 75;
constexpr int kAttrComputeMinor = 76;

using CuInitFn = CUresult (*)(unsigned int);
using CuDriverGetVersionFn = CUresult (*)(int*);
using CuDeviceGetCountFn = CUresult (*)(int*);
using CuDeviceGetFn = CUresult (*)(CUdevice*, int);
using CuDeviceGetNameFn = CUresult (*)(char*, int, CUdevice);
using CuDeviceTotalMemFn = CUresult (*)(std::size_t*, CUdevice);
using CuDeviceGetAttributeFn = CUresult (*)(int*, int, CUdevice);
using CuGetErrorNameFn = CUresult (*)(CUresult, const char**);

struct Driver {
  CuInitFn init = nullptr;
  CuDriverGetVersionFn driver_get_version = nullptr;
  CuDeviceGetCountFn device_get_count = nullptr;
  CuDeviceGetFn device_get = nullptr;
  CuDeviceGetNameFn device_get_name = nullptr;
  CuDeviceTotalMemFn device_total_mem = nullptr;
  CuDeviceGetAttributeFn device_get_attribute = nullptr;
  CuGetErrorNameFn get_error_name = nullptr;  // optional: only for messages
};

template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  return *out != nullptr;
}

std::string error_text(const Driver& d, CUresult r) {
  const char* name = nullptr;
  if (d.get_error_name != nullptr && d.get_error_name(r, &name) == kCudaSuccess && name != nullptr) {
    return std::string(name) + " (" + std::to_string(r) + ")";
  }
  return "CUDA error " + std::to_string(r);
}

// Loaded: the entry points resolved; initialised: cuInit succeeded.
struct Loaded {
  Driver driver;
  Status load_status;  // dlopen / dlsym problems
  Status init_status;  // cuInit problems (only meaningful when load_status is OK)
};

Loaded load_driver(const std::string& library) {
  Loaded out;
  // RTLD_LOCAL keeps the driver's symbols out of the global namespace, so a
  // CUDA runtime loaded later resolves its own copy the usual way.
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    out.load_status = unavailable(library + " not found" + (why != nullptr ? std::string(": ") + why : ""));
    return out;
  }
  Driver& d = out.driver;
  bool ok = resolve(handle, "cuInit", &d.init) &&
            resolve(handle, "cuDriverGetVersion", &d.driver_get_version) &&
            resolve(handle, "cuDeviceGetCount", &d.device_get_count) &&
            resolve(handle, "cuDeviceGet", &d.device_get) &&
            resolve(handle, "cuDeviceGetName", &d.device_get_name) &&
            resolve(handle, "cuDeviceTotalMem_v2", &d.device_total_mem) &&
            resolve(handle, "cuDeviceGetAttribute", &d.device_get_attribute);
  if (!ok) {
    out.load_status = unavailable(library + " lacks a required CUDA driver entry point (driver too old?)");
    return out;
  }
  resolve(handle, "cuGetErrorName", &d.get_error_name);
  CUresult r = d.init(0);
  if (r != kCudaSuccess) out.init_status = unavailable("cuInit failed: " + error_text(d, r));
  return out;
}

const Loaded& default_driver() {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] {
    loaded = load_driver("libcuda.so.1");
    if (!loaded.load_status.ok()) {
      SF_LOG_DEBUG("CUDA unavailable: {}", loaded.load_status.message());
    } else if (!loaded.init_status.ok()) {
      SF_LOG_DEBUG("CUDA unavailable: {}", loaded.init_status.message());
    }
  });
  return loaded;
}

Result<std::vector<CudaDevice>> enumerate(const Loaded& loaded) {
  SF_RETURN_IF_ERROR(loaded.load_status);
  SF_RETURN_IF_ERROR(loaded.init_status);
  const Driver& d = loaded.driver;
  int count = 0;
  CUresult r = d.device_get_count(&count);
  if (r != kCudaSuccess) return unavailable("cuDeviceGetCount failed: " + error_text(d, r));
  if (count <= 0) return unavailable("no CUDA device");

  std::vector<CudaDevice> devices;
  devices.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    CUdevice dev = 0;
    r = d.device_get(&dev, i);
    if (r != kCudaSuccess) return unavailable("cuDeviceGet(" + std::to_string(i) + ") failed: " + error_text(d, r));
    CudaDevice info;
    info.ordinal = i;
    char name[256] = {};
    r = d.device_get_name(name, static_cast<int>(sizeof(name) - 1), dev);
    if (r != kCudaSuccess) return unavailable("cuDeviceGetName failed: " + error_text(d, r));
    info.name = name;
    std::size_t bytes = 0;
    r = d.device_total_mem(&bytes, dev);
    if (r != kCudaSuccess) return unavailable("cuDeviceTotalMem failed: " + error_text(d, r));
    info.total_memory_bytes = bytes;
    struct {
      int attr;
      int* out;
    } const attrs[] = {{kAttrComputeMajor, &info.compute_major}, {kAttrComputeMinor, &info.compute_minor},
                       {kAttrMultiprocessorCount, &info.multiprocessors}, {kAttrPciDomainId, &info.pci_domain},
                       {kAttrPciBusId, &info.pci_bus}, {kAttrPciDeviceId, &info.pci_device}};
    for (const auto& a : attrs) {
      r = d.device_get_attribute(a.out, a.attr, dev);
      if (r != kCudaSuccess) {
        return unavailable("cuDeviceGetAttribute(" + std::to_string(a.attr) + ") failed: " + error_text(d, r));
      }
    }
    devices.push_back(std::move(info));
  }
  return devices;
}

}  // namespace

Result<std::vector<CudaDevice>> list_cuda_devices() { return enumerate(default_driver()); }

Result<std::vector<CudaDevice>> list_cuda_devices_from(const std::string& library) {
  return enumerate(load_driver(library));
}

Result<int> cuda_driver_version() {
  const Loaded& loaded = default_driver();
  SF_RETURN_IF_ERROR(loaded.load_status);
  int version = 0;
  CUresult r = loaded.driver.driver_get_version(&version);
  if (r != kCudaSuccess) return unavailable("cuDriverGetVersion failed: " + error_text(loaded.driver, r));
  return version;
}

std::string compute_capability(const CudaDevice& device) {
  return std::to_string(device.compute_major) + "." + std::to_string(device.compute_minor);
}

}  // namespace sf::gpu
