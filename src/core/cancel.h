// Process-wide cancellation: Ctrl-C (SIGINT) or SIGTERM sets a flag that
// long-running work polls, so it can stop cleanly and remove its temporary
// files instead of dying with a half-written output.
#pragma once

#include <atomic>

namespace sf {

// Installs the SIGINT/SIGTERM handlers (once). The first signal requests a
// stop (cancel_requested() turns true). A second signal, of either kind,
// while stopping removes every registered temporary file
// (core/files.h remove_registered_temporaries()) and then ends the process
// at once by that signal's default action, so no half-written output is
// left either way.
void install_cancel_handlers();

// True once a stop was requested. Async-signal-safe read; thread-safe.
bool cancel_requested();

// Requests a stop (tests, servers).
void request_cancel();

// True when the process was asked to stop, or `job` (a job's own flag, set
// by its cancel(); may be null) is set. Thread-safe.
bool stop_requested(const std::atomic<bool>* job);

}  // namespace sf
