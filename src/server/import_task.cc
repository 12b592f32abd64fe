// POST /import: the studio import (import/import.h) as a service task.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include <fmt/core.h>

#include "core/log.h"
#include "import/import.h"
#include "server/task_internal.h"
#include "server/task_manager.h"

namespace sf::server {
namespace fs = std::filesystem;
namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_id() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<uint64_t>(rd()) << 32) ^ rd());
  return fmt::format("{:016x}{:016x}", g(), g());
}

nlohmann::json stage_json(const import::StageProgress& s) {
  return {{"done", s.done}, {"running", s.running}, {"total", s.total}};
}

}  // namespace

Status TaskManager::check_media_path(const std::string& path, bool folder_ok) const {
  if (options_.media_roots.empty()) {
    return invalid_argument("\"" + path + "\": local paths are not accepted by this server (start it with --media-root DIR)");
  }
  std::error_code ec;
  const std::string c = fs::absolute(path, ec).lexically_normal().string();
  for (const auto& root : options_.media_roots) {
    if (!ec && (c == root || c.rfind(root + "/", 0) == 0)) {
      if (!folder_ok && !fs::is_regular_file(c, ec)) return invalid_argument("\"" + path + "\": no such file");
      return {};
    }
  }
  return invalid_argument("\"" + path + "\": not under a --media-root of this server");
}

Result<nlohmann::json> TaskManager::submit_import(const nlohmann::json& body) {
  const double received = wall_now();
  if (stopping_) return Status(Code::kUnavailable, "the server is shutting down");
  if (!body.is_object()) return invalid_argument("the body must be a JSON object");
  static const std::vector<std::string> known = {"sources", "project", "normalize", "proxy", "transcript",
                                                 "loudness", "true_peak", "proxy_size", "proxy_codec"};
  for (const auto& [k, v] : body.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return invalid_argument("unknown field \"" + k + "\"");
    }
  }
  nlohmann::json sources = body.value("sources", nlohmann::json());
  if (sources.is_string()) sources = nlohmann::json::array({sources});
  if (!sources.is_array() || sources.empty()) {
    return invalid_argument("\"sources\" is required: a list of files or folders");
  }
  if (sources.size() > 1000) return invalid_argument("\"sources\" lists too many entries (at most 1000)");
  nlohmann::json req = {{"kind", "import"}, {"sources", nlohmann::json::array()}};
  for (const auto& s : sources) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      return invalid_argument("every \"sources\" entry must be a non-empty string");
    }
    const std::string p = s.get<std::string>();
    SF_RETURN_IF_ERROR(check_media_path(p, true));
    std::error_code ec;
    if (!fs::exists(p, ec)) return invalid_argument("\"" + p + "\": no such file or folder");
    req["sources"].push_back(fs::absolute(p).lexically_normal().string());
  }
  for (const char* key : {"normalize", "proxy", "transcript"}) {
    auto it = body.find(key);
    if (it != body.end() && !it->is_boolean()) return invalid_argument(fmt::format("\"{}\" must be true or false", key));
    req[key] = it == body.end() ? true : it->get<bool>();
  }
  if (!req["normalize"].get<bool>() && !req["proxy"].get<bool>() && !req["transcript"].get<bool>()) {
    return invalid_argument("\"normalize\", \"proxy\" and \"transcript\" are all false: nothing to do");
  }
  struct Range {
    const char* key;
    double lo, hi, def;
  };
  for (const Range& r : {Range{"loudness", -70, -5, -23}, Range{"true_peak", -20, 0, -1}}) {
    auto it = body.find(r.key);
    if (it != body.end() && !(it->is_number() && it->get<double>() >= r.lo && it->get<double>() <= r.hi)) {
      return invalid_argument(fmt::format("\"{}\" must be a number between {} and {}", r.key, r.lo, r.hi));
    }
    req[r.key] = it == body.end() ? r.def : it->get<double>();
  }
  const std::string size = body.value("proxy_size", std::string("half"));
  if (!body.value("proxy_size", nlohmann::json("half")).is_string()) {
    return invalid_argument("\"proxy_size\" must be a string");
  }
  if (auto d = import::proxy_dimensions(size, 1920, 1080); !d.ok()) return invalid_argument(d.status().message());
  req["proxy_size"] = size;
  const nlohmann::json codec = body.value("proxy_codec", nlohmann::json("h264"));
  if (!codec.is_string() || (codec != "h264" && codec != "prores" && codec != "dnxhr")) {
    return invalid_argument("\"proxy_codec\" must be h264, prores or dnxhr");
  }
  req["proxy_codec"] = codec;

  auto t = std::make_shared<Task>();
  t->id = random_id();
  if (body.contains("project")) {
    if (!body["project"].is_string() || body["project"].get<std::string>().empty()) {
      return invalid_argument("\"project\" must be a folder path");
    }
    SF_RETURN_IF_ERROR(check_media_path(body["project"].get<std::string>(), true));
    req["project"] = fs::absolute(body["project"].get<std::string>()).lexically_normal().string();
  } else {
    req["project"] = (fs::path(options_.data_dir) / "imports" / t->id).string();
  }
  t->request = req;
  t->created = received;
  t->status = {{"task_id", t->id},
               {"kind", "import"},
               {"status", "queued"},
               {"stage", "queued"},
               {"project", req["project"]},
               {"progress", nullptr},
               {"transcription_progress", 0.0},
               {"errors", nlohmann::json::array()},
               {"report", nullptr},
               {"request_received_time", received},
               {"start_time", nullptr},
               {"end_time", nullptr},
               {"elapsed_time", 0.0},
               {"total_request_time", nullptr}};
  {
    std::lock_guard lock(mu_);
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      return Status(Code::kUnavailable, "the queue is full (" + std::to_string(options_.max_queued) + " tasks waiting)");
    }
    tasks_[t->id] = t;
    save(*t, true);
    queue_.push_back(t->id);
    cv_.notify_all();
  }
  return nlohmann::json{{"task_id", t->id}, {"status", "queued"}, {"project", req["project"]}};
}

void TaskManager::run_import_task(const std::shared_ptr<Task>& t) {
  const nlohmann::json& q = t->request;
  import::ImportRequest r;
  r.sources = q["sources"].get<std::vector<std::string>>();
  r.project = q["project"].get<std::string>();
  r.normalize = q.value("normalize", true);
  r.proxy = q.value("proxy", true);
  r.transcript = q.value("transcript", true);
  r.loudness.target = q.value("loudness", -23.0);
  r.loudness.true_peak = q.value("true_peak", -1.0);
  r.proxy_size = q.value("proxy_size", std::string("half"));
  r.proxy_codec = q.value("proxy_codec", std::string("h264"));
  r.transcribe.engine = options_.engine;
  r.transcribe.pool = options_.pool;
  r.library.path = options_.library_path;
  r.cancel = &t->stop;

  const double started = wall_now();
  {
    std::lock_guard lock(mu_);
    t->importing = true;
    t->status["status"] = "processing";
    t->status["stage"] = "importing";
    if (t->status["start_time"].is_null()) t->status["start_time"] = started;
    t->version++;
    save(*t, true);
    cv_.notify_all();
  }
  auto progress = [&](const import::ImportProgress& p) {
    std::lock_guard lock(mu_);
    t->status["progress"] = {{"normalize", stage_json(p.normalize)},
                             {"proxy", stage_json(p.proxy)},
                             {"transcript", stage_json(p.transcript)}};
    t->status["transcription_progress"] =
        p.audio_total > 0 ? std::round(1000.0 * p.audio_done / p.audio_total) / 10.0 : 0.0;
    t->status["elapsed_time"] = wall_now() - t->status.value("request_received_time", started);
    t->version++;
    save(*t, false);
    cv_.notify_all();
  };
  auto result = import::run_import(r, progress);
  const double ended = wall_now();
  std::lock_guard lock(mu_);
  t->importing = false;
  nlohmann::json& s = t->status;
  if ((!result.ok() && result.status().code() == Code::kCancelled) || (result.ok() && result->cancelled)) {
    if (!t->user_cancel) {
      // The server is stopping: resumed at the next start (the manifest
      // keeps what this run finished).
      s["stage"] = "interrupted";
      t->version++;
      save(*t, true);
      cv_.notify_all();
      return;
    }
  }
  s["stage"] = "done";
  s["end_time"] = ended;
  s["elapsed_time"] = ended - s.value("request_received_time", started);
  s["total_request_time"] = s["elapsed_time"];
  if (!result.ok()) {
    s["status"] = "error";
    s["errors"].push_back(result.status().message());
  } else {
    s["report"] = result->to_json();
    for (const auto& f : result->files) {
      if (!f.error.empty()) s["errors"].push_back(f.source + ": " + f.error);
      for (const import::ProductResult* p : {&f.normalized, &f.proxy, &f.transcript}) {
        if (p->state == import::ProductState::kFailed) s["errors"].push_back(f.source + ": " + p->note);
      }
    }
    s["status"] = result->cancelled ? "cancelled" : (result->failed() > 0 ? "error" : "completed");
    s["transcription_progress"] = result->cancelled ? s["transcription_progress"] : nlohmann::json(100.0);
  }
  t->version++;
  save(*t, true);
  cv_.notify_all();
}

}  // namespace sf::server
