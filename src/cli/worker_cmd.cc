// `studioflow worker`: one worker process of the transcription pool
// (internal; started by workers::WorkerPool, not by people). See
// workers/worker_main.h for what it does and workers/protocol.h for what it
// says.
#include <memory>
#include <string>

#include "cli/app.h"
#include "cli/common.h"
#include "cli/exit_codes.h"
#include "workers/worker_main.h"

namespace sf::cli {

void register_worker(CLI::App& app, std::vector<Command>& out) {
  auto* cmd = app.add_subcommand("worker", "internal: one worker process of the transcription pool");
  cmd->group("");  // not listed in --help
  auto args = std::make_shared<workers::WorkerArgs>();
  auto options = std::make_shared<std::string>("{}");
  cmd->add_option("--engine-options", *options, "engine options as JSON");
  cmd->add_option("--instances", args->instances, "engine instances")->check(CLI::Range(1, 256));
  cmd->add_option("--device", args->device, "cpu | gpu:N");
  cmd->add_option("--parent-pid", args->parent_pid, "exit at once unless this is the parent");
  cmd->add_option("--fault", args->fault, "failure drill: crash | crash-once | stall")
      ->check(CLI::IsMember({"", "crash", "crash-once", "stall"}));
  cmd->add_option("--fault-file", args->fault_file, "crash-once: the marker file that makes it once");
  out.push_back({cmd, [args, options] {
                   auto engine = workers::engine_options_from_json(*options);
                   if (!engine.ok()) return fail(engine.status());
                   args->engine = std::move(engine).value();
                   return workers::run_worker(*args);
                 }});
}

}  // namespace sf::cli
