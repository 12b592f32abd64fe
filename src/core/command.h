// Running a helper program to completion (yt-dlp and the like) and
// collecting what it prints.
//
// The program is started with an argument vector (posix_spawnp, PATH
// lookup), never through a shell, so no argument is ever interpreted as
// shell syntax. Its stdin is /dev/null. Thread-safe: each call owns its child
// and pipes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf {

struct CommandResult {
  int exit_code = -1;   // the child's exit status; 128 + N when killed by signal N
  std::string out;      // stdout, at most max_output bytes
  std::string err;      // stderr, at most max_output bytes (the rest is dropped)
};

struct CommandOptions {
  double timeout = 120;              // seconds before the child is stopped (kUnavailable)
  std::size_t max_output = 64 << 20; // stdout beyond this is an error (kUnsupported)
};

// Runs argv[0] (looked up on PATH) with argv and waits for it. A child that
// runs past the timeout, or is still running when sf::cancel_requested(),
// gets SIGTERM, then SIGKILL after a second. Errors: kNotFound when the
// program is not installed (not on PATH), kUnavailable (timed out),
// kCancelled, kUnsupported (too much output), kInternal (cannot spawn).
// A non-zero exit is not an error here: it is in the result.
// REQUIRES: !argv.empty()
Result<CommandResult> run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

}  // namespace sf
