// `studioflow serve`: the HTTP service (see server/http_service.h for the
// routes, server/task_manager.h for tasks and their durable status).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/log.h"
#include "server/http_service.h"
#include "server/routes.h"
#include "server/task_manager.h"
#include "store/library.h"
#include "workers/pool.h"

namespace sf::cli {
namespace {

struct ServeFlags {
  server::HttpOptions http;
  server::ServiceOptions service;
  pipeline::TranscribeOptions transcribe;
  pipeline::LibraryOptions library;
  double retention_hours = 24 * 7;
};

std::string default_data_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path base = xdg != nullptr && *xdg != '\0' ? std::filesystem::path(xdg)
                               : home != nullptr              ? std::filesystem::path(home) / ".local/share"
                                                              : std::filesystem::path(".");
  return (base / "studioflow" / "server").string();
}

int run_serve(ServeFlags& f) {
  install_cancel_handlers();
  if (f.http.token.empty()) f.http.token = config::env("STUDIOFLOW_TOKEN");
  if (!f.http.token.empty() && f.http.token.size() < 8) {
    return fail(invalid_argument("--token must have at least 8 characters"));
  }
  if (f.service.data_dir.empty()) f.service.data_dir = default_data_dir();
  f.service.retention_seconds = f.retention_hours * 3600.0;
  f.service.engine = f.transcribe.engine;
  f.service.library_path = f.library.path;

  // The worker pool first: readiness means engines loaded.
  std::unique_ptr<workers::WorkerPool> pool;
  if (f.transcribe.processes) {
    auto p = workers::WorkerPool::start(workers::pool_options_from_env(f.transcribe.engine, f.transcribe.workers));
    if (!p.ok()) return fail(p.status());
    pool = std::move(p).value();
  }
  f.service.pool = pool.get();
  auto tasks = server::TaskManager::open(f.service);
  if (!tasks.ok()) return fail(tasks.status());
  server::HttpService http(tasks->get(), pool.get(), f.http);
  server::add_api_routes(http);
  if (Status s = http.bind(); !s.ok()) return fail(s);
  std::printf("studioflow serve: listening on http://%s:%d (data in %s)\n", f.http.host.c_str(), http.port(),
              f.service.data_dir.c_str());
  std::fflush(stdout);
  // SIGTERM / Ctrl-C: stop taking requests, interrupt running tasks (they
  // stay "processing" and are resumed by the next start), then exit.
  std::thread watcher([&] {
    while (!cancel_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    SF_LOG_INFO("serve: stopping");
    (*tasks)->shutdown();
    http.stop();
  });
  http.listen();
  request_cancel();
  watcher.join();
  (*tasks)->shutdown();
  SF_LOG_INFO("serve: stopped");
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, std::vector<Command>& out) {
  auto* cmd = app.add_subcommand("serve", "the HTTP service: compilations, transcription API, status, web page");
  auto f = std::make_shared<ServeFlags>();
  cmd->add_option("--host", f->http.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", f->http.port, "port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--data", f->service.data_dir, "folder for tasks.db, outputs/ and the library (default: ~/.local/share/studioflow/server)");
  cmd->add_option("--token", f->http.token, "require Authorization: Bearer TOKEN (default: $STUDIOFLOW_TOKEN)");
  cmd->add_option("--media-root", f->service.media_roots, "allow local paths under this folder (repeatable)");
  cmd->add_option("--max-running", f->service.max_running, "compilations at once")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--max-queued", f->service.max_queued, "tasks waiting before 429")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--retention-hours", f->retention_hours, "finished tasks and their files are removed after")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 1e6));
  cmd->add_option("--http-threads", f->http.threads, "requests served at once")->capture_default_str()->check(CLI::Range(2, 1024));
  add_engine_flags(cmd, &f->transcribe);
  add_library_flags(cmd, &f->library);
  out.push_back({cmd, [f] { return run_serve(*f); }});
}

}  // namespace sf::cli
