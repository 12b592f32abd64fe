#include "asr/whisper/backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <filesystem>
#include <limits.h>
#include <mutex>

#include "asr/whisper/cuda/plugin_abi.h"
#include "gpu/cuda_driver.h"

namespace sf::asr::whisper {

namespace {

struct NamedType {
  std::string_view name;
  ComputeType type;
};
constexpr std::array<NamedType, 10> kTypeNames = {{
    {"auto", ComputeType::kAuto},
    {"f32", ComputeType::kF32},
    {"float32", ComputeType::kF32},
    {"f16", ComputeType::kF16},
    {"float16", ComputeType::kF16},
    {"bf16", ComputeType::kBF16},
    {"bfloat16", ComputeType::kBF16},
    {"int8", ComputeType::kInt8},
    {"int8_float16", ComputeType::kInt8Float16},
    {"int8_float32", ComputeType::kInt8},
}};

}  // namespace

Result<ComputeType> parse_compute_type(std::string_view name) {
  for (const NamedType& n : kTypeNames) {
    if (n.name == name) return n.type;
  }
  return invalid_argument("compute type '" + std::string(name) +
                          "' is not one of auto, f32, f16, bf16, int8, int8_float16");
}

std::string_view compute_type_name(ComputeType type) {
  switch (type) {
    case ComputeType::kAuto:
      return "auto";
    case ComputeType::kF32:
      return "f32";
    case ComputeType::kF16:
      return "f16";
    case ComputeType::kBF16:
      return "bf16";
    case ComputeType::kInt8:
      return "int8";
    case ComputeType::kInt8Float16:
      return "int8_float16";
  }
  return "?";
}

Result<Device> parse_device(std::string_view name) {
  if (name == "auto" || name.empty()) return Device{};
  if (name == "cpu") return Device{.kind = Device::Kind::kCpu};
  if (name == "cuda" || name == "gpu") return Device{.kind = Device::Kind::kCuda};
  for (std::string_view prefix : {std::string_view("cuda:"), std::string_view("gpu:")}) {
    if (name.substr(0, prefix.size()) != prefix) continue;
    const std::string_view digits = name.substr(prefix.size());
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() && index >= 0 && index < 1024) {
      return Device{.kind = Device::Kind::kCuda, .index = index};
    }
  }
  return invalid_argument("device '" + std::string(name) + "' is not one of auto, cpu, cuda, cuda:N");
}

std::string device_name(const Device& device) {
  switch (device.kind) {
    case Device::Kind::kAuto:
      return "auto";
    case Device::Kind::kCpu:
      return "cpu";
    case Device::Kind::kCuda:
      return "cuda:" + std::to_string(device.index);
  }
  return "?";
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
    f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
    return f;
  }();
  return features;
}

ComputeType resolve_cpu_compute_type(ComputeType requested, bool stored_f16, std::string* why) {
  if (why != nullptr) why->clear();
  const CpuFeatures& f = cpu_features();
  auto fallback = [&](ComputeType to, const char* missing) {
    if (why != nullptr) {
      *why = std::string(compute_type_name(requested)) + " needs " + missing + ", which this CPU lacks; running " +
             std::string(compute_type_name(to));
    }
    return to;
  };
  const ComputeType half_or_f32 = f.avx2 ? ComputeType::kF16 : ComputeType::kF32;
  switch (requested) {
    case ComputeType::kAuto:
      if (f.avx512_bf16) return ComputeType::kBF16;
      return stored_f16 && f.avx2 ? ComputeType::kF16 : ComputeType::kF32;
    case ComputeType::kF32:
      return ComputeType::kF32;
    case ComputeType::kF16:
      return f.avx2 ? ComputeType::kF16 : fallback(ComputeType::kF32, "AVX2 and F16C");
    case ComputeType::kBF16:
      return f.avx512_bf16 ? ComputeType::kBF16 : fallback(half_or_f32, "AVX-512 BF16");
    case ComputeType::kInt8:
    case ComputeType::kInt8Float16:
      return f.avx512_vnni ? ComputeType::kInt8 : fallback(half_or_f32, "AVX-512 VNNI");
  }
  return ComputeType::kF32;
}

namespace {

// The CUDA backend plugin: a shared library next to the executable (or
// named by STUDIOFLOW_WHISPER_CUDA_PLUGIN), opened only where a CUDA device
// exists.
std::string plugin_path() {
  if (const char* p = std::getenv("STUDIOFLOW_WHISPER_CUDA_PLUGIN"); p != nullptr && *p != '\0') return p;
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return cuda::kPluginFileName;
  self[n] = '\0';
  return (std::filesystem::path(self).parent_path() / cuda::kPluginFileName).string();
}

}  // namespace

namespace {
cuda::CreateSessionFn g_create_session = nullptr;
}  // namespace

cuda::CreateSessionFn cuda::plugin_create_session() {
  return cuda_availability().usable ? g_create_session : nullptr;
}

const CudaAvailability& cuda_availability() {
  static const CudaAvailability availability = [] {
    CudaAvailability a;
    auto devices = gpu::list_cuda_devices();
    if (!devices.ok()) {
      a.why = devices.status().message();
      return a;
    }
    a.devices = static_cast<int>(devices->size());
    const std::string path = plugin_path();
    if (!std::filesystem::exists(path)) {
      a.why = "the CUDA backend plugin " + path + " is not there (this build has no CUDA backend)";
      return a;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      a.why = "the CUDA backend plugin " + path + " does not load: " + (e != nullptr ? e : "unknown error");
      return a;
    }
    auto version = reinterpret_cast<int (*)()>(dlsym(handle, cuda::kAbiVersionSymbol));
    if (version == nullptr || version() != cuda::kAbiVersion) {
      a.why = "the CUDA backend plugin " + path + " was built for another studioflow version";
      return a;
    }
    g_create_session = reinterpret_cast<cuda::CreateSessionFn>(dlsym(handle, cuda::kCreateSessionSymbol));
    if (g_create_session == nullptr) {
      a.why = "the CUDA backend plugin " + path + " has no " + cuda::kCreateSessionSymbol;
      return a;
    }
    a.usable = true;
    return a;
  }();
  return availability;
}

Result<Device> resolve_device(const Device& requested) {
  // The CPU needs no look for a GPU (that loads the CUDA driver).
  if (requested.kind == Device::Kind::kCpu) return requested;
  const CudaAvailability& cuda = cuda_availability();
  switch (requested.kind) {
    case Device::Kind::kAuto:
      return cuda.usable ? Device{.kind = Device::Kind::kCuda, .index = 0} : Device{.kind = Device::Kind::kCpu};
    case Device::Kind::kCpu:
      return requested;
    case Device::Kind::kCuda:
      if (!cuda.usable) return unavailable("whisper device " + device_name(requested) + ": " + cuda.why);
      if (requested.index >= cuda.devices) {
        return unavailable("whisper device " + device_name(requested) + ": only " + std::to_string(cuda.devices) +
                           " CUDA device(s) here");
      }
      return requested;
  }
  return requested;
}

}  // namespace sf::asr::whisper
