#include "server/http_service.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <fmt/core.h>

#include "core/json.h"
#include "core/log.h"
#include "export/timeline.h"
#include "server/openai.h"
#include "server/task_manager.h"
#include "workers/pool.h"

namespace sf::server {
namespace {

constexpr double kBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % std::max<size_t>(1, b.size())]);
  return diff == 0;
}

std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void Metrics::record(const std::string& route, int code, double seconds) {
  std::lock_guard lock(mu_);
  counts_[{route, code}]++;
  Histogram& h = durations_[route];
  if (h.buckets.empty()) h.buckets.assign(std::size(kBuckets), 0);
  for (size_t i = 0; i < std::size(kBuckets); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

std::string Metrics::text() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP studioflow_http_requests_total HTTP requests by route and status code.\n"
      "# TYPE studioflow_http_requests_total counter\n";
  for (const auto& [k, n] : counts_) {
    out += fmt::format("studioflow_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n", label(k.first), k.second, n);
  }
  out +=
      "# HELP studioflow_http_request_duration_seconds Time to answer a request.\n"
      "# TYPE studioflow_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    for (size_t i = 0; i < std::size(kBuckets); ++i) {
      out += fmt::format("studioflow_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", label(route),
                         kBuckets[i], h.buckets[i]);
    }
    out += fmt::format("studioflow_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", label(route),
                       h.count);
    out += fmt::format("studioflow_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label(route), h.sum);
    out += fmt::format("studioflow_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label(route), h.count);
  }
  return out;
}

HttpService::HttpService(TaskManager* tasks, workers::WorkerPool* pool, HttpOptions options)
    : tasks_(tasks), pool_(pool), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(2, options_.threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_->set_payload_max_length(std::max(options_.max_body, options_.max_upload));
  server_->set_read_timeout(options_.read_timeout, 0);
  server_->set_write_timeout(options_.read_timeout, 0);
  server_->set_keep_alive_max_count(100);
  // Headers and body go out in separate writes: without this, Nagle's
  // algorithm holds the body until the client's delayed ACK (40 ms).
  server_->set_tcp_nodelay(true);
  server_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The health routes and the page's static files (no data in them) need no token.
    if (options_.token.empty() || req.path.rfind("/health/", 0) == 0 || req.path == "/" ||
        req.path.rfind("/static/", 0) == 0) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string auth = req.get_header_value("Authorization");
    const std::string want = "Bearer " + options_.token;
    if (!same_secret(auth, want)) {
      const std::string message =
          auth.empty() ? "authentication required: send Authorization: Bearer <token>" : "wrong token";
      if (req.path.rfind("/v1/", 0) == 0) {  // OpenAI's clients read OpenAI's error shape
        openai_error(res, 401, message, "", "invalid_api_key");
      } else {
        error(res, 401, message);
      }
      res.set_header("WWW-Authenticate", "Bearer");
      metrics_.record("unauthorized", 401, 0);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (req.path.rfind("/v1/", 0) == 0) {  // OpenAI's clients read OpenAI's error shape
      openai_error(res, res.status,
                   res.status == 413 ? "the upload is too large"
                   : res.status == 404 ? "no such route: " + req.method + " " + req.path
                                       : "request failed",
                   res.status == 413 ? "file" : "", res.status == 413 ? "file_too_large" : "");
    } else if (res.status == 404) {
      error(res, 404, "no such route: " + req.method + " " + req.path);
    } else if (res.status == 413) {
      error(res, 413, "the request body is too large");
    } else {
      error(res, res.status, "request failed");
    }
    metrics_.record("unmatched", res.status, 0);
  });
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
    std::string what = "internal error";
    try {
      if (e) std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = std::string("internal error: ") + ex.what();
    } catch (...) {
    }
    error(res, 500, what);
  });
  add_core_routes();
}

HttpService::~HttpService() { stop(); }

void HttpService::error(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(dump_json(nlohmann::json{{"error", message}}), "application/json");
}

void HttpService::json(httplib::Response& res, const nlohmann::json& body, int code) {
  res.status = code;
  res.set_content(dump_json(body), "application/json");
}

Result<nlohmann::json> HttpService::parse_body(const std::string& body) const {
  if (body.size() > options_.max_body) return invalid_argument("the request body is too large");
  if (body.empty()) return invalid_argument("the request body is empty: send a JSON object");
  bool too_deep = false;
  const int max_depth = options_.max_json_depth;
  auto cb = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_depth) too_deep = true;
    return !too_deep;
  };
  nlohmann::json j = nlohmann::json::parse(body, cb, /*allow_exceptions=*/false);
  if (too_deep) return invalid_argument(fmt::format("the JSON body is nested deeper than {} levels", max_depth));
  if (j.is_discarded()) return invalid_argument("the request body is not valid JSON");
  return j;
}

void HttpService::get(const std::string& pattern, const std::string& route, Handler h) {
  server_->Get(pattern, [this, route, h](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    h(req, res);
    metrics_.record(route, res.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
}

void HttpService::post(const std::string& pattern, const std::string& route, Handler h) {
  server_->Post(pattern, [this, route, h](const httplib::Request& req, httplib::Response& res) {
    const auto t0 = std::chrono::steady_clock::now();
    h(req, res);
    metrics_.record(route, res.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
}

void HttpService::add_core_routes() {
  get("/health/live", "/health/live", [](const httplib::Request&, httplib::Response& res) {
    json(res, {{"status", "ok"}});
  });
  get("/health/ready", "/health/ready", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json body = {{"accepting", tasks_->accepting()}};
    bool ready = tasks_->accepting();
    if (pool_ != nullptr) {
      auto st = pool_->status();
      body["workers_healthy"] = st.healthy;
      body["workers_total"] = st.total;
      ready = ready && st.healthy > 0;
    }
    body["status"] = ready ? "ready" : "not ready";
    json(res, body, ready ? 200 : 503);
  });
  // A task-creating route: the body as JSON, the manager's answer or its
  // refusal (400 bad field, 429/503 queue full or stopping).
  auto task_route = [this](Result<nlohmann::json> (TaskManager::*submit)(const nlohmann::json&)) {
    return [this, submit](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_body(req.body);
      if (!body.ok()) return error(res, 400, body.status().message());
      auto r = (tasks_->*submit)(*body);
      if (r.ok()) return json(res, *r);
      if (r.status().code() == Code::kUnavailable) {
        res.set_header("Retry-After", "5");
        return error(res, tasks_->accepting() ? 429 : 503, r.status().message());
      }
      if (r.status().code() == Code::kInvalidArgument) return error(res, 400, r.status().message());
      return error(res, 500, r.status().message());
    };
  };
  post("/create_compilation", "/create_compilation", task_route(&TaskManager::submit));
  post("/import", "/import", task_route(&TaskManager::submit_import));
  get(R"(/status/([^/]+))", "/status", [this](const httplib::Request& req, httplib::Response& res) {
    auto s = tasks_->status(req.matches[1]);
    if (!s) return error(res, 404, "unknown task id");
    json(res, *s);
  });
  get(R"(/status/([^/]+)/history)", "/status/history", [this](const httplib::Request& req, httplib::Response& res) {
    if (!tasks_->status(req.matches[1])) return error(res, 404, "unknown task id");
    auto h = tasks_->history(req.matches[1]);
    if (!h.ok()) return error(res, 500, h.status().message());
    json(res, {{"task_id", std::string(req.matches[1])}, {"history", *h}});
  });
  get("/tasks", "/tasks", [this](const httplib::Request&, httplib::Response& res) {
    json(res, {{"tasks", tasks_->list()}});
  });
  post(R"(/cancel/([^/]+))", "/cancel", [this](const httplib::Request& req, httplib::Response& res) {
    bool compile_found = req.get_param_value("mode") == "early_termination";
    if (!req.body.empty()) {
      auto body = parse_body(req.body);
      if (!body.ok()) return error(res, 400, body.status().message());
      if (!body->is_object()) return error(res, 400, "the body must be a JSON object");
      if (body->contains("early_termination")) {
        if (!(*body)["early_termination"].is_boolean()) return error(res, 400, "\"early_termination\" must be true or false");
        compile_found = (*body)["early_termination"].get<bool>();
      }
    }
    auto r = tasks_->cancel(req.matches[1], compile_found);
    if (r.ok()) return json(res, *r);
    if (r.status().code() == Code::kNotFound) return error(res, 404, r.status().message());
    return error(res, 409, r.status().message());
  });
  get(R"(/download/([^/]+))", "/download", [this](const httplib::Request& req, httplib::Response& res) {
    if (!tasks_->status(req.matches[1])) return error(res, 404, "unknown task id");
    // ?format=edl (fcpxml, ...): one of the task's editor exports.
    std::optional<std::string> file;
    std::string name = std::string(req.matches[1]) + ".mp4";
    std::string type = "video/mp4";
    if (req.has_param("format") && req.get_param_value("format") != "mp4") {
      auto f = exports::parse_format(req.get_param_value("format"));
      if (!f.ok()) return error(res, 400, f.status().message());
      file = tasks_->export_file(req.matches[1], *f);
      if (!file) return error(res, 404, "no " + std::string(exports::format_name(*f)) +
                                            " export of this task (ask for it in \"exports\"; see /status)");
      name = std::string(req.matches[1]) + std::string(exports::extension(*f));
      type = std::string(exports::content_type(*f));
    } else {
      file = tasks_->output_file(req.matches[1]);
    }
    if (!file) return error(res, 404, "the compilation is not ready (see /status)");
    auto in = std::make_shared<std::ifstream>(*file, std::ios::binary);
    in->seekg(0, std::ios::end);
    const auto size = static_cast<size_t>(in->tellg());
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
    res.set_content_provider(size, type, [in](size_t offset, size_t length, httplib::DataSink& sink) {
      std::vector<char> buf(std::min<size_t>(length, 1 << 16));
      in->seekg(static_cast<std::streamoff>(offset));
      in->read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto got = static_cast<size_t>(in->gcount());
      if (got == 0) return false;
      return sink.write(buf.data(), got);
    });
  });
  get(R"(/events/([^/]+))", "/events", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    if (!tasks_->status(id)) return error(res, 404, "unknown task id");
    auto last = std::make_shared<std::uint64_t>(0);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, id, last](size_t, httplib::DataSink& sink) {
      const std::uint64_t v = *last == 0 ? tasks_->version(id) : tasks_->wait_for_change(id, *last, 15);
      if (v == *last) {  // nothing new: a comment keeps the connection open
        return sink.write(": keep-alive\n\n", 14);
      }
      *last = v;
      auto s = tasks_->status(id);
      if (!s) {
        sink.done();
        return true;
      }
      std::string msg = "event: status\ndata: " + dump_json(*s) + "\n\n";
      if (!sink.write(msg.data(), msg.size())) return false;
      const std::string state = s->value("status", std::string());
      if (state == "completed" || state == "error" || state == "cancelled" || !tasks_->accepting()) sink.done();
      return true;
    });
  });
  get("/metrics", "/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
}

std::string HttpService::metrics_text() {
  std::string out = metrics_.text();
  auto c = tasks_->counts();
  out += "# HELP studioflow_tasks Tasks known to this server by state.\n# TYPE studioflow_tasks gauge\n";
  out += fmt::format("studioflow_tasks{{state=\"queued\"}} {}\n", c.queued);
  out += fmt::format("studioflow_tasks{{state=\"processing\"}} {}\n", c.processing);
  out += fmt::format("studioflow_tasks{{state=\"completed\"}} {}\n", c.completed);
  out += fmt::format("studioflow_tasks{{state=\"error\"}} {}\n", c.error);
  out += fmt::format("studioflow_tasks{{state=\"cancelled\"}} {}\n", c.cancelled);
  out += "# HELP studioflow_queue_depth Tasks waiting to start.\n# TYPE studioflow_queue_depth gauge\n";
  out += fmt::format("studioflow_queue_depth {}\n", c.queued);
  out += "# HELP studioflow_segments_transcribed_total Audio segments transcribed.\n"
         "# TYPE studioflow_segments_transcribed_total counter\n";
  out += fmt::format("studioflow_segments_transcribed_total {}\n", c.segments_transcribed);
  out += "# HELP studioflow_audio_seconds_transcribed_total Seconds of audio transcribed.\n"
         "# TYPE studioflow_audio_seconds_transcribed_total counter\n";
  out += fmt::format("studioflow_audio_seconds_transcribed_total {}\n", c.audio_seconds);
  if (pool_ != nullptr) {
    auto st = pool_->status();
    out += "# HELP studioflow_worker_processes Worker processes by health.\n# TYPE studioflow_worker_processes gauge\n";
    out += fmt::format("studioflow_worker_processes{{state=\"total\"}} {}\n", st.total);
    out += fmt::format("studioflow_worker_processes{{state=\"healthy\"}} {}\n", st.healthy);
    out += "# HELP studioflow_worker_restarts_total Worker processes restarted.\n"
           "# TYPE studioflow_worker_restarts_total counter\n";
    out += fmt::format("studioflow_worker_restarts_total {}\n", st.restarted);
    out += "# HELP studioflow_transcription_queue Segments waiting for a worker.\n"
           "# TYPE studioflow_transcription_queue gauge\n";
    out += fmt::format("studioflow_transcription_queue {}\n", st.queued);
    out += fmt::format("studioflow_transcription_active {}\n", st.active);
  }
  return out;
}

Status HttpService::bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host.c_str());
    if (port_ <= 0) return unavailable("serve: cannot listen on " + options_.host);
  } else {
    if (!server_->bind_to_port(options_.host.c_str(), options_.port)) {
      return unavailable(fmt::format("serve: cannot listen on {}:{} (in use, or not an address of this machine)",
                                     options_.host, options_.port));
    }
    port_ = options_.port;
  }
  return {};
}

void HttpService::listen() { server_->listen_after_bind(); }

void HttpService::stop() {
  if (server_ && server_->is_running()) server_->stop();
}

}  // namespace sf::server
