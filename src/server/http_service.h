// The HTTP face of the service (cpp-httplib): routes, authentication,
// limits and metrics over a TaskManager and the shared worker pool.
//
// Routes (JSON unless said otherwise; errors are {"error": "..."} with a
// 4xx code naming the problem, 5xx only for faults of the server itself):
//   GET  /health/live              200 while the process answers
//   GET  /health/ready             200 when the workers are up, else 503
//   POST /create_compilation       the seed's contract; 400 bad body, 429 queue full (Retry-After)
//   GET  /status/<task_id>         the seed's status fields (+ enhanced ones)
//   GET  /status/<task_id>/history status changes, oldest first
//   GET  /tasks                    newest first
//   POST /cancel/<task_id>         {"early_termination": true} compiles what was found; else cancels
//   GET  /download/<task_id>       the MP4 (range requests), 404 until complete;
//        ?format=edl|fcp7|fcpxml|otio|mpv|srt|vtt: an export the request
//        asked for ("exports"), 400 unknown format, 404 not asked for
//   GET  /events/<task_id>         server-sent events: the status at each change
//   GET  /metrics                  Prometheus text format
// Extra routes (the OpenAI-compatible API, the web page) are added by
// add_routes hooks before listen().
//
// With a token, every route but /health/*, / and /static/* needs "Authorization: Bearer
// <token>" (401 otherwise). Bodies are bounded (max_body; uploads
// max_upload), JSON nesting is bounded, slow clients time out.
//
// Thread-safety: construct, add routes and listen from one thread; stop()
// and the metrics may be used from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sf::workers {
class WorkerPool;
}

namespace sf::server {

class TaskManager;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                           // 0: any free port (see port())
  std::string token;                         // empty: no authentication
  int threads = 16;                          // requests served at once
  std::size_t max_body = 1 << 20;            // bytes of a JSON body
  std::size_t max_upload = 512u << 20;       // bytes of a multipart upload
  int max_json_depth = 32;
  int read_timeout = 30;                     // seconds before a slow client is dropped
};

// Request counts and durations by route and status code.
class Metrics {
 public:
  void record(const std::string& route, int code, double seconds);
  // Prometheus text: studioflow_http_requests_total{route,code},
  // studioflow_http_request_duration_seconds histogram{route}.
  std::string text() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, long> counts_;
  struct Histogram {
    std::vector<long> buckets;
    long count = 0;
    double sum = 0;
  };
  std::map<std::string, Histogram> durations_;
};

class HttpService {
 public:
  HttpService(TaskManager* tasks, workers::WorkerPool* pool, HttpOptions options);
  ~HttpService();

  // The JSON body of a request, parsed with the depth and size bounds;
  // kInvalidArgument with the reason otherwise.
  Result<nlohmann::json> parse_body(const std::string& body) const;
  // Answers `res` with {"error": message} and `code`.
  static void error(httplib::Response& res, int code, const std::string& message);
  static void json(httplib::Response& res, const nlohmann::json& body, int code = 200);

  // Registers a handler under the service's metrics and authentication.
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void get(const std::string& pattern, const std::string& route, Handler h);
  void post(const std::string& pattern, const std::string& route, Handler h);

  // Binds; kUnavailable when the address is taken. Then port() is known.
  Status bind();
  int port() const { return port_; }
  // Serves until stop(). Returns when the listener has closed.
  void listen();
  void stop();

  TaskManager* tasks() const { return tasks_; }
  workers::WorkerPool* pool() const { return pool_; }
  Metrics& metrics() { return metrics_; }
  const HttpOptions& options() const { return options_; }

 private:
  void add_core_routes();
  std::string metrics_text();

  TaskManager* tasks_;
  workers::WorkerPool* pool_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  Metrics metrics_;
  int port_ = 0;
};

}  // namespace sf::server
