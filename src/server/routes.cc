#include "server/routes.h"

#include <httplib.h>

#include <string>

#include "gpu/inventory.h"
#include "server/http_service.h"
#include "server/openai.h"
#include "server/task_manager.h"
#include "server/web_assets.h"
#include "workers/pool.h"

namespace sf::server {
namespace {

const WebAsset* find_asset(std::string_view path) {
  for (const WebAsset& a : web_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

void serve_asset(const WebAsset& a, httplib::Response& res) {
  res.status = 200;
  res.set_content(std::string(a.body), std::string(a.content_type).c_str());
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

nlohmann::json system_json(HttpService& http) {
  const asr::EngineOptions& e = http.tasks()->options().engine;
  nlohmann::json out = {{"model", e.model.empty() ? e.engine : e.engine + ":" + e.model},
                        {"workers", http.pool() != nullptr ? http.pool()->status().to_json() : nlohmann::json()}};
  const gpu::GpuInventory inv = gpu::take_inventory();
  nlohmann::json gpus = nlohmann::json::array();
  for (const gpu::GpuDevice& d : inv.devices) {
    nlohmann::json g = {{"index", d.cuda.ordinal},
                        {"name", d.cuda.name},
                        {"memory_total_bytes", d.cuda.total_memory_bytes},
                        {"memory_used_bytes", nullptr},
                        {"utilization_percent", nullptr},
                        {"temperature_celsius", nullptr}};
    if (d.nvml) {
      g["memory_total_bytes"] = d.nvml->memory_total_bytes;
      g["memory_used_bytes"] = d.nvml->memory_used_bytes;
      if (d.nvml->gpu_utilization_percent) g["utilization_percent"] = *d.nvml->gpu_utilization_percent;
      if (d.nvml->temperature_celsius) g["temperature_celsius"] = *d.nvml->temperature_celsius;
    }
    gpus.push_back(g);
  }
  out["gpus"] = gpus;
  out["cuda_status"] = inv.cuda_status.ok() ? nlohmann::json(nullptr) : nlohmann::json(inv.cuda_status.message());
  out["nvml_status"] = inv.nvml_status.ok() ? nlohmann::json(nullptr) : nlohmann::json(inv.nvml_status.message());
  return out;
}

void add_api_routes(HttpService& http) {
  add_openai_routes(http);
  http.get("/", "/", [](const httplib::Request&, httplib::Response& res) {
    serve_asset(*find_asset("/index.html"), res);
  });
  http.get(R"(/static/([A-Za-z0-9_.-]+))", "/static", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* a = find_asset("/" + std::string(req.matches[1]));
    if (a == nullptr || a->path == "/index.html") return HttpService::error(res, 404, "no such file");
    serve_asset(*a, res);
  });
  HttpService* h = &http;
  http.get("/system", "/system", [h](const httplib::Request&, httplib::Response& res) {
    HttpService::json(res, system_json(*h));
  });
}

}  // namespace sf::server
