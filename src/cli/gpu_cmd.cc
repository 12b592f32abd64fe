// `studioflow gpu [--json]`: what acceleration this machine really has.
// `studioflow gpu --plan [--json]`: the measurements and the capacity plan
// (cli/machine_plan.h) for an engine.
//
// Every flag comes from a real check: an encoder counts when the ladder's
// probe opened it and encoded a frame; CUDA counts when the driver loaded,
// initialised and showed at least one device.
#include <fmt/core.h>

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "cli/machine_plan.h"
#include "core/json.h"
#include "asr/whisper/backend.h"
#include "gpu/inventory.h"
#include "media/encoder_ladder.h"

namespace sf::cli {
namespace {

struct Report {
  gpu::GpuInventory inventory;
  const std::vector<media::EncoderProbe>* encoders = nullptr;
  Result<media::EncoderChoice> chosen = unavailable("not chosen");

  bool usable(std::string_view name) const {
    for (const auto& p : *encoders) {
      if (p.name == name) return p.usable;
    }
    return false;
  }
  bool nvenc() const { return usable("h264_nvenc"); }
  bool amf() const { return usable("h264_amf"); }
  bool qsv() const { return usable("h264_qsv"); }
  bool vaapi() const { return usable("h264_vaapi"); }
  bool cuda() const { return inventory.cuda_usable(); }
  bool has_gpu() const { return nvenc() || amf() || qsv() || vaapi() || cuda(); }
};

std::string driver_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

std::string pci_text(const gpu::CudaDevice& d) {
  return fmt::format("{:04x}:{:02x}:{:02x}.0", d.pci_domain, d.pci_bus, d.pci_device);
}

double gib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

nlohmann::json to_json(const Report& r) {
  using nlohmann::json;
  json j;
  j["nvidia_nvenc"] = r.nvenc();
  j["amd_amf"] = r.amf();
  j["intel_quicksync"] = r.qsv();
  j["vaapi"] = r.vaapi();
  j["cuda"] = r.cuda();
  j["has_gpu"] = r.has_gpu();
  const gpu::GpuInventory& inv = r.inventory;
  j["cuda_driver_version"] =
      inv.cuda_driver_version ? json(driver_version_text(*inv.cuda_driver_version)) : json(nullptr);
  j["cuda_reason"] = inv.cuda_status.ok() ? json(nullptr) : json(inv.cuda_status.message());
  j["nvml_reason"] = inv.nvml_status.ok() ? json(nullptr) : json(inv.nvml_status.message());
  json devices = json::array();
  for (const gpu::GpuDevice& d : inv.devices) {
    json dj;
    dj["index"] = d.cuda.ordinal;
    dj["name"] = d.cuda.name;
    dj["memory_total_bytes"] = d.cuda.total_memory_bytes;
    dj["compute_capability"] = gpu::compute_capability(d.cuda);
    dj["multiprocessors"] = d.cuda.multiprocessors;
    dj["pci_bus_id"] = pci_text(d.cuda);
    if (d.nvml) {
      const gpu::NvmlDeviceStatus& n = *d.nvml;
      json nj;
      nj["memory_total_bytes"] = n.memory_total_bytes;
      nj["memory_used_bytes"] = n.memory_used_bytes;
      nj["memory_free_bytes"] = n.memory_free_bytes;
      nj["gpu_utilization_percent"] = n.gpu_utilization_percent ? json(*n.gpu_utilization_percent) : json(nullptr);
      nj["memory_utilization_percent"] =
          n.memory_utilization_percent ? json(*n.memory_utilization_percent) : json(nullptr);
      dj["nvml"] = nj;
    } else {
      dj["nvml"] = nullptr;
    }
    devices.push_back(dj);
  }
  j["cuda_devices"] = devices;
  // Where the Whisper engine runs by default, and why not on CUDA.
  namespace wh = asr::whisper;
  const wh::CudaAvailability& backend = wh::cuda_availability();
  const wh::CpuFeatures& cpu = wh::cpu_features();
  j["whisper_cuda_backend"] = backend.usable;
  j["whisper_cuda_reason"] = backend.usable ? json(nullptr) : json(backend.why);
  j["whisper_cpu_compute_type"] = std::string(wh::compute_type_name(wh::resolve_cpu_compute_type(wh::ComputeType::kAuto, true, nullptr)));
  j["cpu_features"] = {{"avx2", cpu.avx2}, {"avx512", cpu.avx512}, {"avx512_bf16", cpu.avx512_bf16},
                       {"avx512_vnni", cpu.avx512_vnni}};
  if (r.chosen.ok()) {
    j["encoder"] = r.chosen->name;
    j["preset"] = r.chosen->preset;
    j["encoder_error"] = nullptr;
  } else {
    j["encoder"] = nullptr;
    j["preset"] = nullptr;
    j["encoder_error"] = r.chosen.status().message();
  }
  json encoders = json::array();
  for (const auto& p : *r.encoders) {
    encoders.push_back({{"name", p.name}, {"kind", p.kind}, {"usable", p.usable}, {"reason", p.reason}});
  }
  j["encoders"] = encoders;
  return j;
}

void print_text(const Report& r) {
  auto line = [](std::string_view label, const std::string& value) {
    fmt::print("{:<18}{}\n", label, value);
  };
  auto yes_no = [](bool b) { return std::string(b ? "yes" : "no"); };
  const gpu::GpuInventory& inv = r.inventory;
  std::string cuda = yes_no(r.cuda());
  if (!inv.cuda_status.ok()) cuda += " (" + inv.cuda_status.message() + ")";
  if (inv.cuda_driver_version) cuda += ", driver CUDA " + driver_version_text(*inv.cuda_driver_version);
  line("CUDA", cuda);
  for (const gpu::GpuDevice& d : inv.devices) {
    std::string text = fmt::format("{}, {:.1f} GiB, compute {}, {} SMs, PCI {}", d.cuda.name,
                                   gib(d.cuda.total_memory_bytes), gpu::compute_capability(d.cuda),
                                   d.cuda.multiprocessors, pci_text(d.cuda));
    if (d.nvml) {
      text += fmt::format(", {:.1f} GiB in use", gib(d.nvml->memory_used_bytes));
      if (d.nvml->gpu_utilization_percent) text += fmt::format(", {}% busy", *d.nvml->gpu_utilization_percent);
    }
    line(fmt::format("  GPU {}", d.cuda.ordinal), text);
  }
  if (!inv.devices.empty() && !inv.nvml_status.ok()) line("  NVML", inv.nvml_status.message());
  {
    namespace wh = asr::whisper;
    const wh::CudaAvailability& backend = wh::cuda_availability();
    line("Whisper on CUDA", backend.usable ? std::string("yes") : "no (" + backend.why + ")");
    const wh::CpuFeatures& cpu = wh::cpu_features();
    std::string features = cpu.avx512_bf16 ? "AVX-512 BF16" : cpu.avx512 ? "AVX-512" : cpu.avx2 ? "AVX2" : "baseline";
    if (cpu.avx512_vnni) features += ", VNNI";
    line("Whisper on CPU",
         std::string(wh::compute_type_name(wh::resolve_cpu_compute_type(wh::ComputeType::kAuto, true, nullptr))) +
             " by default (" + features + ")");
  }
  line("NVIDIA NVENC", yes_no(r.nvenc()));
  line("Intel QuickSync", yes_no(r.qsv()));
  line("VAAPI", yes_no(r.vaapi()));
  line("AMD AMF", yes_no(r.amf()));
  line("has GPU", yes_no(r.has_gpu()));
  if (r.chosen.ok()) {
    std::string preset = r.chosen->preset.empty() ? "driver default" : "preset " + r.chosen->preset;
    line("encoder", r.chosen->name + " (" + preset + ")");
  } else {
    line("encoder", "none: " + r.chosen.status().message());
  }
  fmt::print("encoders tried:\n");
  for (const auto& p : *r.encoders) {
    line("  " + p.name, p.usable ? std::string("usable") : "rejected: " + p.reason);
  }
}

struct PlanFlags {
  asr::EngineOptions engine;
  double gpu_instance_mib = 0;
  double gpu_instance_utilization = 0;
};

void print_plan_text(const MachinePlan& mp) {
  const gpu::MachineMeasurements& m = mp.measurements;
  fmt::print("measurements:\n");
  fmt::print("  {:<16}{}\n", "CPU cores", m.cpu_cores);
  fmt::print("  {:<16}{:.1f} GiB available\n", "memory", gib(m.memory_available_bytes));
  fmt::print("  {:<16}{}\n", "one instance",
             mp.cpu_instance.bytes > 0
                 ? fmt::format("{:.0f} MiB on the CPU ({})", mp.cpu_instance.bytes / 1048576.0,
                               mp.cpu_instance.source)
                 : mp.cpu_instance.source);
  if (!m.gpu_status.ok()) fmt::print("  {:<16}none: {}\n", "GPU", m.gpu_status.message());
  for (std::size_t i = 0; i < m.gpus.size(); ++i) {
    const gpu::DeviceMeasurement& d = m.gpus[i];
    const gpu::DeviceBaseline& b = m.baselines[i];
    std::string text = fmt::format("{}, {:.1f} GiB, {:.1f} GiB in use, {:.0f}% busy", d.name,
                                   gib(d.memory_total_bytes), gib(d.baseline_memory_used_bytes),
                                   d.baseline_utilization_percent);
    if (b.max_utilization_percent) text += fmt::format(" (max {}%)", *b.max_utilization_percent);
    if (b.mean_temperature_celsius) text += fmt::format(", {:.0f} C", *b.mean_temperature_celsius);
    text += m.baseline_measured
                ? fmt::format(", baseline of {} samples over {} s", b.samples, m.baseline_seconds)
                : std::string(", one snapshot");
    fmt::print("  {:<16}{}\n", fmt::format("GPU {}", d.gpu), text);
  }
  fmt::print("plan: {} instance(s) in {} worker process(es)\n", mp.plan.total_instances(),
             mp.plan.workers.size());
  for (std::size_t i = 0; i < mp.plan.workers.size(); ++i) {
    const gpu::WorkerSpec& w = mp.plan.workers[i];
    fmt::print("  worker {:<9}{}, {} instance(s), {} thread(s) each\n", i,
               w.gpu >= 0 ? fmt::format("GPU {}", w.gpu) : std::string("CPU"), w.instances,
               w.threads);
  }
  fmt::print("decisions:\n");
  for (const std::string& d : mp.plan.decisions) fmt::print("  {}\n", d);
}

int run_plan(const PlanFlags& f, bool json_out) {
  if (f.engine.engine != "sphinx" && f.engine.engine != "whisper") {
    return fail(invalid_argument("--engine '" + f.engine.engine + "' is not sphinx or whisper"));
  }
  if (f.gpu_instance_mib < 0) {
    return fail(invalid_argument("--instance-gpu-memory must not be negative"));
  }
  if (f.gpu_instance_utilization < 0 || f.gpu_instance_utilization > 100) {
    return fail(invalid_argument("--instance-gpu-utilization must be in 0..100"));
  }
  auto mp = plan_this_machine(f.engine, static_cast<std::uint64_t>(f.gpu_instance_mib * 1048576.0),
                              f.gpu_instance_utilization);
  if (!mp.ok()) return fail(mp.status());
  if (json_out) {
    nlohmann::json j;
    j["engine"] = f.engine.engine;
    j["measurements"] = gpu::measurements_to_json(mp->measurements);
    j["cpu_instance_bytes"] = mp->cpu_instance.bytes;
    j["cpu_instance_source"] = mp->cpu_instance.source;
    j["plan"] = gpu::plan_to_json(mp->plan);
    std::string text = dump_json(j, 2);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
  } else {
    print_plan_text(*mp);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void register_gpu(CLI::App& app, std::vector<Command>& out) {
  auto* cmd = app.add_subcommand("gpu", "show the GPUs and hardware encoders this machine can use");
  auto json_out = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_out, "print one JSON object");
  auto plan = std::make_shared<bool>(false);
  auto pf = std::make_shared<PlanFlags>();
  CLI::Option* plan_flag = cmd->add_flag(
      "--plan", *plan,
      "measure and print the capacity plan: worker processes, instances, threads, and why "
      "(ENABLE_GPU_PROFILING=1: a GPU baseline first)");
  cmd->add_option("--engine", pf->engine.engine, "--plan: speech engine, sphinx | whisper")
      ->capture_default_str()
      ->needs(plan_flag);
  cmd->add_option("--model", pf->engine.model,
                  "--plan: whisper model (default: $WHISPER_MODEL_SIZE)")
      ->needs(plan_flag);
  cmd->add_option("--instance-gpu-memory", pf->gpu_instance_mib,
                  "--plan: measured GPU memory of one instance, MiB (0: none, no GPU plan)")
      ->needs(plan_flag);
  cmd->add_option("--instance-gpu-utilization", pf->gpu_instance_utilization,
                  "--plan: measured GPU utilization (%) while one instance runs")
      ->needs(plan_flag);
  out.push_back({cmd, [json_out, plan, pf] {
                   if (*plan) return run_plan(*pf, *json_out);
                   Report r;
                   r.inventory = gpu::take_inventory();
                   r.encoders = &media::probe_encoders();
                   r.chosen = media::choose_encoder("", false);
                   if (*json_out) {
                     std::string text = dump_json(to_json(r), 2);
                     std::fwrite(text.data(), 1, text.size(), stdout);
                     std::fputc('\n', stdout);
                   } else {
                     print_text(r);
                   }
                   std::fflush(stdout);
                   return kExitOk;
                 }});
}

}  // namespace sf::cli
