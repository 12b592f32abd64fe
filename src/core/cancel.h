// Process-wide cancellation: Ctrl-C (SIGINT) or SIGTERM sets a flag that
// long-running work polls, so it can stop cleanly and remove its temporary
// files instead of dying with a half-written output.
#pragma once

namespace sf {

// Installs the SIGINT/SIGTERM handlers (once). A second signal while
// stopping kills the process the default way.
void install_cancel_handlers();

// True once a stop was requested. Async-signal-safe read; thread-safe.
bool cancel_requested();

// Requests a stop (tests, servers).
void request_cancel();

}  // namespace sf
