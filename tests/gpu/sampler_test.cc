// The GPU sampler: a clear status without a GPU, statistics on recorded
// samples; and this machine's measurements and plan (gpu/capacity.h).
#include "gpu/sampler.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "gpu/capacity.h"

namespace sf::gpu {
namespace {

NvmlDeviceStatus device(unsigned index, std::uint64_t used, std::optional<unsigned> util,
                        std::optional<unsigned> temp) {
  NvmlDeviceStatus d;
  d.index = index;
  d.name = "NVIDIA H200";
  d.memory_total_bytes = 150754820096ull;
  d.memory_used_bytes = used;
  d.memory_free_bytes = d.memory_total_bytes - used;
  d.gpu_utilization_percent = util;
  d.temperature_celsius = temp;
  d.pci_bus = 0x18 + static_cast<int>(index);
  return d;
}

TEST(Sampler, WithoutAGpuStartSaysWhy) {
  if (nvml_snapshot().ok()) GTEST_SKIP() << "this machine has a GPU";
  auto s = Sampler::start(SamplerOptions{});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_FALSE(s.status().message().empty());
}

TEST(Sampler, BadOptionsAreRefused) {
  SamplerOptions o;
  o.interval_seconds = 0;
  EXPECT_EQ(Sampler::start(o).status().code(), Code::kInvalidArgument);
  o = SamplerOptions{};
  o.baseline_seconds = -1;
  EXPECT_EQ(Sampler::start(o).status().code(), Code::kInvalidArgument);
}

TEST(Sampler, LiveBaselineWhereThereIsAGpu) {
  if (!nvml_snapshot().ok()) GTEST_SKIP() << "no GPU";
  SamplerOptions o;
  o.baseline_seconds = 0.5;
  auto s = Sampler::start(o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto b = (*s)->wait_baseline();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE((*s)->baseline_complete());
  EXPECT_GE((*s)->baseline_samples().size(), 3u);
  EXPECT_GT(b->front().memory_total_bytes, 0u);
}

TEST(BaselineStats, MeanAndMaxPerGpu) {
  // 0.4 s of a two-GPU machine: GPU 1 busier; GPU 0's utilization missing
  // in one sample (not supported then), GPU 1 absent from the last one.
  std::vector<GpuSample> samples = {
      {0.0, {device(0, 1000, 10, 40), device(1, 5000, 60, 70)}},
      {0.1, {device(0, 2000, 20, 41), device(1, 7000, 80, 72)}},
      {0.2, {device(0, 3000, std::nullopt, std::nullopt), device(1, 6000, 70, 71)}},
      {0.3, {device(0, 2000, 30, 43)}},
  };
  auto r = baseline_stats(samples);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  const DeviceBaseline& g0 = (*r)[0];
  EXPECT_EQ(g0.index, 0u);
  EXPECT_EQ(g0.samples, 4);
  EXPECT_DOUBLE_EQ(g0.mean_memory_used_bytes, 2000);
  EXPECT_EQ(g0.max_memory_used_bytes, 3000u);
  ASSERT_TRUE(g0.mean_utilization_percent);
  EXPECT_DOUBLE_EQ(*g0.mean_utilization_percent, 20);
  EXPECT_EQ(*g0.max_utilization_percent, 30u);
  EXPECT_DOUBLE_EQ(*g0.mean_temperature_celsius, 124.0 / 3);
  EXPECT_EQ(*g0.max_temperature_celsius, 43u);
  EXPECT_EQ(g0.memory_total_bytes, 150754820096ull);
  const DeviceBaseline& g1 = (*r)[1];
  EXPECT_EQ(g1.samples, 3);
  EXPECT_DOUBLE_EQ(g1.mean_memory_used_bytes, 6000);
  EXPECT_DOUBLE_EQ(*g1.mean_utilization_percent, 70);
  EXPECT_EQ(*g1.max_utilization_percent, 80u);
  EXPECT_EQ(g1.pci_bus, 0x19);
}

TEST(BaselineStats, NoUtilizationReportedStaysEmpty) {
  std::vector<GpuSample> samples = {{0.0, {device(0, 100, std::nullopt, std::nullopt)}}};
  auto r = baseline_stats(samples);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE((*r)[0].mean_utilization_percent);
  EXPECT_FALSE((*r)[0].max_temperature_celsius);
  EXPECT_FALSE(baseline_stats({}).ok());
  std::vector<GpuSample> empty = {{0.0, {}}};
  EXPECT_EQ(baseline_stats(empty).status().code(), Code::kInvalidArgument);
}

TEST(Sampler, OptionsFromTheEnvironment) {
  ::setenv("BASELINE_MEASUREMENT_DURATION", "2.5", 1);
  ::setenv("PERFORMANCE_MONITORING_INTERVAL", "0.5", 1);
  SamplerOptions o = sampler_options_from_env();
  EXPECT_DOUBLE_EQ(o.baseline_seconds, 2.5);
  EXPECT_DOUBLE_EQ(o.interval_seconds, 0.5);
  EXPECT_DOUBLE_EQ(o.baseline_interval, 0.1);
  ::unsetenv("BASELINE_MEASUREMENT_DURATION");
  ::unsetenv("PERFORMANCE_MONITORING_INTERVAL");
  o = sampler_options_from_env();
  EXPECT_DOUBLE_EQ(o.baseline_seconds, 30);
  EXPECT_DOUBLE_EQ(o.interval_seconds, 10);
}

TEST(Capacity, ThisMachine) {
  MachineMeasurements m = measure_machine(false, SamplerOptions{});
  EXPECT_GE(m.cpu_cores, 1);
  EXPECT_GT(m.memory_available_bytes, 0u);
  EXPECT_EQ(m.gpu_status.ok(), !m.gpus.empty());
  EXPECT_EQ(m.gpus.size(), m.baselines.size());
  CapacityRequest r;
  r.engine = "sphinx";
  r.cpu_instance_bytes = 96ull << 20;
  auto plan = plan_for_machine(m, r, PlanOptions{});
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->uses_gpu());
  ASSERT_FALSE(plan->decisions.empty());
  if (m.gpu_status.ok()) {
    EXPECT_EQ(plan->decisions.front(), "the sphinx engine runs on the CPU only");
  } else {
    EXPECT_EQ(plan->decisions.front(), "no GPU: " + m.gpu_status.message());
  }
}

TEST(Capacity, GpuPlanNeedsAMeasuredFootprint) {
  MachineMeasurements m;
  m.cpu_cores = 16;
  m.memory_available_bytes = 64ull << 30;
  DeviceMeasurement d;
  d.gpu = 0;
  d.name = "NVIDIA H200";
  d.memory_total_bytes = 150754820096ull;
  m.gpus = {d};
  m.baselines = {DeviceBaseline{}};
  CapacityRequest r;
  r.engine = "whisper";
  auto cpu = plan_for_machine(m, r, PlanOptions{});
  ASSERT_TRUE(cpu.ok());
  EXPECT_FALSE(cpu->uses_gpu());
  EXPECT_NE(cpu->decisions.front().find("no measured GPU footprint"), std::string::npos);
  r.gpu_instance_memory_bytes = 1ull << 30;
  r.gpu_instance_utilization_percent = 40;
  auto g = plan_for_machine(m, r, PlanOptions{});
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->workers.size(), 1u);
  EXPECT_EQ(g->workers[0].gpu, 0);
  EXPECT_EQ(g->workers[0].instances, 3);  // 40 % busy: 3
  r.gpu_instance_utilization_percent = 140;
  EXPECT_EQ(plan_for_machine(m, r, PlanOptions{}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sf::gpu
