#include "gpu/nvml.h"

#include <dlfcn.h>

#include <mutex>

#include "core/log.h"

namespace sf::gpu {
namespace {

// The subset of nvml.h this file needs; layouts are fixed by the NVML ABI.
using NvmlReturn = int;
using NvmlDevice = struct NvmlOpaqueDevice*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr NvmlReturn kNvmlNotSupported = 3;
constexpr int kNvmlTemperatureGpu = 0;

struct NvmlMemory {
  unsigned long long total;  // NVML declares these as unsigned long long
  unsigned long long free;
  unsigned long long used;
};
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
struct NvmlPciInfo {
  char bus_id_legacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pci_device_id;
  unsigned int pci_subsystem_id;
  char bus_id[32];
};

using InitFn = NvmlReturn (*)();
using ShutdownFn = NvmlReturn (*)();
using GetCountFn = NvmlReturn (*)(unsigned int*);
using GetHandleFn = NvmlReturn (*)(unsigned int, NvmlDevice*);
using GetMemoryFn = NvmlReturn (*)(NvmlDevice, NvmlMemory*);
using GetUtilizationFn = NvmlReturn (*)(NvmlDevice, NvmlUtilization*);
using GetTemperatureFn = NvmlReturn (*)(NvmlDevice, int, unsigned int*);
using GetNameFn = NvmlReturn (*)(NvmlDevice, char*, unsigned int);
using GetPciFn = NvmlReturn (*)(NvmlDevice, NvmlPciInfo*);
using ErrorStringFn = const char* (*)(NvmlReturn);
using DriverVersionFn = NvmlReturn (*)(char*, unsigned int);

template <typename Fn>
bool resolve(void* handle, const char* symbol, Fn* out) {
  *out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  return *out != nullptr;
}

class Library {
 public:
  Library() = default;
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // Runs at process exit: NVML keeps driver state that it wants released.
  ~Library() {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.ok() && shutdown_ != nullptr) shutdown_();
    status_ = unavailable("NVML shut down");
  }

  void load_unlogged() {
    const char* kName = "libnvidia-ml.so.1";
    void* handle = dlopen(kName, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      status_ = unavailable(std::string(kName) + " not found" + (why != nullptr ? std::string(": ") + why : ""));
      return;
    }
    InitFn init = nullptr;
    bool ok = resolve(handle, "nvmlInit_v2", &init) && resolve(handle, "nvmlShutdown", &shutdown_) &&
              resolve(handle, "nvmlDeviceGetCount_v2", &get_count_) &&
              resolve(handle, "nvmlDeviceGetHandleByIndex_v2", &get_handle_) &&
              resolve(handle, "nvmlDeviceGetMemoryInfo", &get_memory_) &&
              resolve(handle, "nvmlDeviceGetUtilizationRates", &get_utilization_) &&
              resolve(handle, "nvmlDeviceGetName", &get_name_) &&
              resolve(handle, "nvmlDeviceGetPciInfo_v3", &get_pci_) &&
              resolve(handle, "nvmlErrorString", &error_string_);
    if (!ok) {
      shutdown_ = nullptr;
      status_ = unavailable(std::string(kName) + " lacks a required NVML entry point (driver too old?)");
      return;
    }
    resolve(handle, "nvmlSystemGetDriverVersion", &driver_version_);
    resolve(handle, "nvmlDeviceGetTemperature", &get_temperature_);
    NvmlReturn r = init();
    if (r != kNvmlSuccess) {
      shutdown_ = nullptr;  // nothing to shut down after a failed init
      status_ = unavailable("nvmlInit failed: " + error_text(r));
      return;
    }
    status_ = Status();
  }

  // REQUIRES: called once, before any other member (library() ensures it).
  void load() {
    load_unlogged();
    if (!status_.ok()) SF_LOG_DEBUG("NVML unavailable: {}", status_.message());
  }

  Result<std::vector<NvmlDeviceStatus>> snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    SF_RETURN_IF_ERROR(status_);
    unsigned count = 0;
    NvmlReturn r = get_count_(&count);
    if (r != kNvmlSuccess) return unavailable("nvmlDeviceGetCount failed: " + error_text(r));
    if (count == 0) return unavailable("no NVML device");
    std::vector<NvmlDeviceStatus> out;
    out.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
      NvmlDevice dev = nullptr;
      r = get_handle_(i, &dev);
      if (r != kNvmlSuccess) return query_error("nvmlDeviceGetHandleByIndex", i, r);
      NvmlDeviceStatus s;
      s.index = i;
      char name[96] = {};
      r = get_name_(dev, name, sizeof(name));
      if (r != kNvmlSuccess) return query_error("nvmlDeviceGetName", i, r);
      s.name = name;
      NvmlMemory mem{};
      r = get_memory_(dev, &mem);
      if (r != kNvmlSuccess) return query_error("nvmlDeviceGetMemoryInfo", i, r);
      s.memory_total_bytes = mem.total;
      s.memory_used_bytes = mem.used;
      s.memory_free_bytes = mem.free;
      NvmlUtilization util{};
      r = get_utilization_(dev, &util);
      if (r == kNvmlSuccess) {
        s.gpu_utilization_percent = util.gpu;
        s.memory_utilization_percent = util.memory;
      } else if (r != kNvmlNotSupported) {
        return query_error("nvmlDeviceGetUtilizationRates", i, r);
      }
      // Optional: a missing or failing temperature sensor is not an error.
      unsigned temp = 0;
      if (get_temperature_ != nullptr &&
          get_temperature_(dev, kNvmlTemperatureGpu, &temp) == kNvmlSuccess) {
        s.temperature_celsius = temp;
      }
      NvmlPciInfo pci{};
      r = get_pci_(dev, &pci);
      if (r != kNvmlSuccess) return query_error("nvmlDeviceGetPciInfo", i, r);
      s.pci_domain = static_cast<int>(pci.domain);
      s.pci_bus = static_cast<int>(pci.bus);
      s.pci_device = static_cast<int>(pci.device);
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::string> driver_version() {
    std::lock_guard<std::mutex> lock(mu_);
    SF_RETURN_IF_ERROR(status_);
    if (driver_version_ == nullptr) return unavailable("nvmlSystemGetDriverVersion not provided by this NVML");
    char buf[96] = {};
    NvmlReturn r = driver_version_(buf, sizeof(buf));
    if (r != kNvmlSuccess) return unavailable("nvmlSystemGetDriverVersion failed: " + error_text(r));
    return std::string(buf);
  }

 private:
  std::string error_text(NvmlReturn r) const {
    const char* text = error_string_ != nullptr ? error_string_(r) : nullptr;
    return (text != nullptr ? std::string(text) : std::string("NVML error")) + " (" + std::to_string(r) + ")";
  }

  Status query_error(const char* call, unsigned index, NvmlReturn r) const {
    return internal_error(std::string(call) + " failed on NVML device " + std::to_string(index) + ": " +
                          error_text(r));
  }

  std::mutex mu_;
  Status status_ = unavailable("NVML not loaded");  // GUARDED_BY(mu_) after load()
  ShutdownFn shutdown_ = nullptr;
  GetCountFn get_count_ = nullptr;
  GetHandleFn get_handle_ = nullptr;
  GetMemoryFn get_memory_ = nullptr;
  GetUtilizationFn get_utilization_ = nullptr;
  GetNameFn get_name_ = nullptr;
  GetTemperatureFn get_temperature_ = nullptr;
  GetPciFn get_pci_ = nullptr;
  ErrorStringFn error_string_ = nullptr;
  DriverVersionFn driver_version_ = nullptr;
};

Library& library() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] { lib.load(); });
  return lib;
}

}  // namespace

Result<std::vector<NvmlDeviceStatus>> nvml_snapshot() { return library().snapshot(); }

Result<std::string> nvml_driver_version() { return library().driver_version(); }

}  // namespace sf::gpu
