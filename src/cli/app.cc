#include "cli/app.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "cli/common.h"
#include "cli/exit_codes.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/files.h"
#include "core/log.h"

namespace sf::cli {
namespace {

// An exception that leaves a thread's function cannot be caught at the
// command boundary; the process must end, but not leave half-written files.
[[noreturn]] void on_terminate() {
  remove_registered_temporaries();
  try {
    if (std::exception_ptr e = std::current_exception()) std::rethrow_exception(e);
    std::fputs("studioflow: error: internal failure, stopping\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "studioflow: error: internal failure, stopping: %s\n", e.what());
  } catch (...) {
    std::fputs("studioflow: error: internal failure, stopping (unknown exception)\n", stderr);
  }
  std::abort();
}

}  // namespace

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument: return kExitUsage;
    case Code::kNotFound:
    case Code::kBadMedia:
    case Code::kCorrupt:
    case Code::kUnsupported: return kExitBadInput;
    case Code::kPermission: return kExitBadInput;
    case Code::kOutput: return kExitOutput;
    case Code::kNoMatch: return kExitNoMatch;
    case Code::kCancelled: return kExitCancelled;
    default: return kExitError;
  }
}

int run(int argc, char** argv) {
  CLI::App app{"studioflow: searchable speech and supercuts from video"};
  app.require_subcommand(0, 1);
  std::string level = "info";
  bool quiet = false;
  app.add_option("--log-level", level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "only warnings and errors");
  bool help_env = false;
  app.add_flag("--help-env", help_env, "list the environment variables and the values in force");
  app.set_version_flag("--version", std::string("studioflow ") + SF_VERSION);

  std::vector<Command> commands;
  register_supercut(app, commands);
  register_transcribe(app, commands);
  register_gpu(app, commands);
  register_whisper_tools(app, commands);
  register_bench(app, commands);
  register_search(app, commands);
  register_library(app, commands);
  register_serve(app, commands);
  register_import(app, commands);
  register_worker(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  log::Level lv = log::Level::kInfo;
  if (!log::parse_level(level, &lv)) {
    std::fprintf(stderr, "studioflow: unknown --log-level '%s'\n", level.c_str());
    return kExitUsage;
  }
  if (quiet && lv < log::Level::kWarn) lv = log::Level::kWarn;
  log::init(lv);
  install_cancel_handlers();

  if (help_env) {
    std::fputs(config::describe_env().c_str(), stdout);
    return kExitOk;
  }
  // Once, before any command: a bad variable is a usage error naming it,
  // not a default silently used.
  if (Status s = config::validate_env(); !s.ok()) {
    std::fprintf(stderr, "studioflow: %s\n", s.message().c_str());
    return kExitUsage;
  }
  std::set_terminate(on_terminate);
  for (auto& c : commands) {
    if (c.app->parsed()) return run_guarded("running " + c.app->get_name(), c.run);
  }
  std::fputs(app.help().c_str(), stderr);
  return kExitUsage;
}

}  // namespace sf::cli
