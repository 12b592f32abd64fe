// The capacity planner on recorded measurement sets (tests/gpu/data/
// plan_cases.json) and on CPU-only machines.
#include "gpu/planner.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace sf::gpu {
namespace {

nlohmann::json load_cases() {
  std::ifstream in(std::string(SF_TEST_SOURCE_DIR) + "/gpu/data/plan_cases.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

DeviceMeasurement device_from(const nlohmann::json& j) {
  DeviceMeasurement d;
  d.gpu = j.at("gpu").get<int>();
  d.name = j.value("name", "");
  d.memory_total_bytes = j.at("memory_total_bytes").get<std::uint64_t>();
  d.baseline_memory_used_bytes = j.at("baseline_memory_used_bytes").get<std::uint64_t>();
  d.baseline_utilization_percent = j.at("baseline_utilization_percent").get<double>();
  d.instance_memory_bytes = j.at("instance_memory_bytes").get<std::uint64_t>();
  d.instance_utilization_percent = j.at("instance_utilization_percent").get<double>();
  for (const auto& p : j.value("throughput", nlohmann::json::array())) {
    d.throughput.push_back({p.at("instances").get<int>(), p.value("throughput", 0.0),
                            p.value("out_of_memory", false)});
  }
  return d;
}

PlanOptions options_from(const nlohmann::json& j) {
  PlanOptions o;
  o.memory_safety_buffer = j.value("memory_safety_buffer", o.memory_safety_buffer);
  o.min_utilization_threshold = j.value("min_utilization_threshold", o.min_utilization_threshold);
  o.max_models_per_gpu = j.value("max_models_per_gpu", o.max_models_per_gpu);
  o.force_single_gpu = j.value("force_single_gpu", false);
  if (j.contains("worker_processes")) o.worker_processes = j["worker_processes"].get<int>();
  return o;
}

std::string all_decisions(const WorkerPlan& p) {
  std::string s;
  for (const auto& d : p.decisions) s += d + "\n";
  return s;
}

TEST(Planner, RecordedMeasurementSets) {
  nlohmann::json cases = load_cases();
  ASSERT_GE(cases["cases"].size(), 10u);
  for (const auto& c : cases["cases"]) {
    const std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    std::vector<DeviceMeasurement> devices;
    for (const auto& d : c["devices"]) devices.push_back(device_from(d));
    auto plan = plan_gpu_workers(devices, options_from(c["options"]));
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    const std::string why = all_decisions(*plan);
    const auto& want = c["expect"]["workers"];
    ASSERT_EQ(plan->workers.size(), want.size()) << why;
    int total = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(plan->workers[i].gpu, want[i][0].get<int>()) << why;
      EXPECT_EQ(plan->workers[i].instances, want[i][1].get<int>()) << why;
      EXPECT_EQ(plan->workers[i].threads, 1);
      total += want[i][1].get<int>();
    }
    EXPECT_EQ(plan->total_instances(), total);
    EXPECT_EQ(plan->uses_gpu(), !want.empty());
    for (const auto& text : c["expect"]["decision_contains"]) {
      EXPECT_NE(why.find(text.get<std::string>()), std::string::npos)
          << "missing '" << text << "' in\n"
          << why;
    }
  }
}

TEST(Planner, SamePlanForSameMeasurements) {
  nlohmann::json cases = load_cases();
  std::vector<DeviceMeasurement> devices;
  for (const auto& d : cases["cases"][0]["devices"]) devices.push_back(device_from(d));
  auto a = plan_gpu_workers(devices, PlanOptions{});
  auto b = plan_gpu_workers(devices, PlanOptions{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(plan_to_json(*a), plan_to_json(*b));
}

TEST(Planner, InconsistentMeasurementsNameTheGpuAndField) {
  DeviceMeasurement d;
  d.gpu = 3;
  d.memory_total_bytes = 1 << 30;
  d.instance_memory_bytes = 0;
  auto r = plan_gpu_workers({d}, PlanOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("GPU 3"), std::string::npos);
  EXPECT_NE(r.status().message().find("instance_memory_bytes"), std::string::npos);

  d.instance_memory_bytes = 1 << 20;
  d.baseline_memory_used_bytes = 2u << 30;
  EXPECT_NE(
      plan_gpu_workers({d}, PlanOptions{}).status().message().find("baseline_memory_used_bytes"),
      std::string::npos);
  d.baseline_memory_used_bytes = 0;
  d.instance_utilization_percent = 120;
  EXPECT_NE(plan_gpu_workers({d}, PlanOptions{}).status().message().find("utilization"),
            std::string::npos);
  d.instance_utilization_percent = 10;
  d.throughput = {{2, 5.0, false}};
  EXPECT_NE(plan_gpu_workers({d}, PlanOptions{}).status().message().find("1, 2, ..."),
            std::string::npos);
  d.throughput.clear();
  EXPECT_FALSE(plan_gpu_workers({}, PlanOptions{}).ok());
  PlanOptions bad;
  bad.max_models_per_gpu = 0;
  EXPECT_FALSE(plan_gpu_workers({d}, bad).ok());
  EXPECT_TRUE(plan_gpu_workers({d}, PlanOptions{}).ok());
}

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kGiB = 1024 * kMiB;

TEST(Planner, CpuTwoCoresIsTheSeedsTwoWorkers) {
  WorkerPlan p = plan_cpu_workers(2, 16 * kGiB, 96 * kMiB, PlanOptions{});
  ASSERT_EQ(p.workers.size(), 2u) << all_decisions(p);
  for (const auto& w : p.workers) {
    EXPECT_EQ(w.gpu, -1);
    EXPECT_EQ(w.instances, 1);
    EXPECT_EQ(w.threads, 1);
  }
  EXPECT_FALSE(p.uses_gpu());
  EXPECT_NE(all_decisions(p).find("not a limit"), std::string::npos);
}

TEST(Planner, CpuSixteenCoresSpreadOverTwoProcesses) {
  WorkerPlan p = plan_cpu_workers(16, 64 * kGiB, 96 * kMiB, PlanOptions{});
  ASSERT_EQ(p.workers.size(), 2u);
  EXPECT_EQ(p.workers[0].instances, 8);
  EXPECT_EQ(p.workers[1].instances, 8);
  EXPECT_EQ(p.total_instances(), 16);
  EXPECT_EQ(p.workers[0].threads, 1);
}

TEST(Planner, CpuLowMemoryLimitsInstancesAndGivesThemThreads) {
  WorkerPlan p = plan_cpu_workers(16, 1 * kGiB, 300 * kMiB, PlanOptions{});
  ASSERT_EQ(p.workers.size(), 2u) << all_decisions(p);
  EXPECT_EQ(p.total_instances(), 3);
  EXPECT_EQ(p.workers[0].instances, 2);
  EXPECT_EQ(p.workers[1].instances, 1);
  EXPECT_EQ(p.workers[0].threads, 5);  // 16 cores / 3 instances
  EXPECT_NE(all_decisions(p).find("memory bound 3"), std::string::npos) << all_decisions(p);

  WorkerPlan tiny = plan_cpu_workers(4, 100 * kMiB, 300 * kMiB, PlanOptions{});
  ASSERT_EQ(tiny.workers.size(), 1u) << all_decisions(tiny);
  EXPECT_EQ(tiny.workers[0].instances, 1);
  EXPECT_EQ(tiny.workers[0].threads, 4);
  EXPECT_NE(all_decisions(tiny).find("at least 1"), std::string::npos);
}

TEST(Planner, CpuWorkerProcessesFromTheEnvironmentOption) {
  PlanOptions o;
  o.worker_processes = 4;
  WorkerPlan p = plan_cpu_workers(2, 16 * kGiB, 96 * kMiB, o);
  ASSERT_EQ(p.workers.size(), 4u) << all_decisions(p);
  EXPECT_EQ(p.total_instances(), 4);  // at least one per process
  EXPECT_NE(all_decisions(p).find("GPU_WORKER_PROCESSES=4"), std::string::npos);

  WorkerPlan one_core = plan_cpu_workers(1, 16 * kGiB, 0, PlanOptions{});
  ASSERT_EQ(one_core.workers.size(), 1u);
  EXPECT_NE(all_decisions(one_core).find("no memory bound"), std::string::npos);
}

TEST(Planner, JsonOfAPlan) {
  WorkerPlan p = plan_cpu_workers(2, 16 * kGiB, 96 * kMiB, PlanOptions{});
  nlohmann::json j = plan_to_json(p);
  EXPECT_EQ(j["total_instances"], 2);
  EXPECT_EQ(j["uses_gpu"], false);
  ASSERT_EQ(j["workers"].size(), 2u);
  EXPECT_EQ(j["workers"][0]["device"], "cpu");
  EXPECT_TRUE(j["workers"][0]["gpu"].is_null());
  EXPECT_EQ(j["decisions"].size(), p.decisions.size());
}

}  // namespace
}  // namespace sf::gpu
