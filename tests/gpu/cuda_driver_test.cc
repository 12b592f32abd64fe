#include "gpu/cuda_driver.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gpu/inventory.h"
#include "gpu/nvml.h"

namespace sf::gpu {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

TEST(CudaDriver, DefaultDriverListsDevicesOrSaysWhyNot) {
  Result<std::vector<CudaDevice>> devices = list_cuda_devices();
  if (!devices.ok()) {
    EXPECT_EQ(devices.status().code(), Code::kUnavailable);
    const std::string m = devices.status().message();
    EXPECT_TRUE(starts_with(m, "libcuda.so.1 not found") || starts_with(m, "cuInit failed: ") ||
                m == "no CUDA device" || m.find("entry point") != std::string::npos)
        << m;
    return;
  }
  ASSERT_FALSE(devices->empty());
  for (std::size_t i = 0; i < devices->size(); ++i) {
    const CudaDevice& d = (*devices)[i];
    EXPECT_EQ(d.ordinal, static_cast<int>(i));
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.total_memory_bytes, 0u);
    EXPECT_GE(d.compute_major, 3);
    EXPECT_GT(d.multiprocessors, 0);
  }
}

TEST(CudaDriver, RepeatedCallsAgree) {
  Result<std::vector<CudaDevice>> a = list_cuda_devices();
  Result<std::vector<CudaDevice>> b = list_cuda_devices();
  ASSERT_EQ(a.ok(), b.ok());
  if (!a.ok()) {
    EXPECT_EQ(a.status().message(), b.status().message());
  } else {
    EXPECT_EQ(a->size(), b->size());
  }
}

TEST(CudaDriver, MissingLibraryIsUnavailableWithReason) {
  Result<std::vector<CudaDevice>> r = list_cuda_devices_from("libcuda_absent_from_this_system.so.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_TRUE(starts_with(r.status().message(), "libcuda_absent_from_this_system.so.1 not found"))
      << r.status().message();
}

TEST(CudaDriver, LibraryWithoutDriverEntryPointsIsRejected) {
  // The C math library loads fine but is not a CUDA driver.
  Result<std::vector<CudaDevice>> r = list_cuda_devices_from("libm.so.6");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("entry point"), std::string::npos) << r.status().message();
}

TEST(CudaDriver, ToolkitStubDriverFailsInCuInit) {
  // The CUDA toolkit ships a link-time stub of libcuda whose cuInit always
  // fails: a real driver library that cannot initialise.
  const char* stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!std::filesystem::exists(stub)) GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  // In a child process: the stub's soname is libcuda.so.1, and once loaded
  // it would stand in for the real driver for the rest of the process.
  EXPECT_EXIT(
      {
        Result<std::vector<CudaDevice>> r = list_cuda_devices_from(stub);
        bool as_expected = !r.ok() && r.status().code() == Code::kUnavailable &&
                           starts_with(r.status().message(), "cuInit failed: ");
        std::fprintf(stderr, "%s\n", r.ok() ? "listed devices" : r.status().message().c_str());
        std::_Exit(as_expected ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "cuInit failed: ");
}

TEST(CudaDriver, ComputeCapabilityText) {
  CudaDevice d;
  d.compute_major = 9;
  d.compute_minor = 0;
  EXPECT_EQ(compute_capability(d), "9.0");
}

TEST(Nvml, SnapshotIsConsistentOrSaysWhyNot) {
  Result<std::vector<NvmlDeviceStatus>> s = nvml_snapshot();
  if (!s.ok()) {
    EXPECT_EQ(s.status().code(), Code::kUnavailable);
    EXPECT_FALSE(s.status().message().empty());
    return;
  }
  for (const NvmlDeviceStatus& d : *s) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_total_bytes, 0u);
    EXPECT_LE(d.memory_used_bytes, d.memory_total_bytes);
    if (d.gpu_utilization_percent) {
      EXPECT_LE(*d.gpu_utilization_percent, 100u);
    }
  }
}

TEST(Inventory, AgreesWithTheDriver) {
  GpuInventory inv = take_inventory();
  Result<std::vector<CudaDevice>> devices = list_cuda_devices();
  EXPECT_EQ(inv.cuda_usable(), devices.ok());
  if (devices.ok()) {
    EXPECT_EQ(inv.devices.size(), devices->size());
  } else {
    EXPECT_TRUE(inv.devices.empty());
    EXPECT_EQ(inv.cuda_status.message(), devices.status().message());
  }
}

// Runs only where a CUDA device is (CTest label `gpu`).
TEST(GpuDevice, CudaDevicesMatchNvml) {
  GpuInventory inv = take_inventory();
  if (!inv.cuda_usable()) GTEST_SKIP() << "no CUDA device: " << inv.cuda_status.message();
  ASSERT_TRUE(inv.cuda_driver_version.has_value());
  EXPECT_GE(*inv.cuda_driver_version, 10000);
  if (!inv.nvml_status.ok()) GTEST_SKIP() << "NVML unavailable: " << inv.nvml_status.message();
  for (const GpuDevice& d : inv.devices) {
    ASSERT_TRUE(d.nvml.has_value()) << "CUDA device " << d.cuda.ordinal << " has no NVML match";
    // Both libraries describe the same board: the same memory size within
    // what the driver reserves for itself.
    EXPECT_NEAR(static_cast<double>(d.nvml->memory_total_bytes), static_cast<double>(d.cuda.total_memory_bytes),
                0.05 * static_cast<double>(d.nvml->memory_total_bytes));
  }
}

}  // namespace
}  // namespace sf::gpu
