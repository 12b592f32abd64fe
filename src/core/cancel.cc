#include "core/cancel.h"

#include <csignal>

#include <atomic>

#include "core/files.h"

namespace sf {
namespace {
std::atomic<bool> g_cancel{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs lock-free atomics");

extern "C" void on_signal(int sig) {
  if (g_cancel.exchange(true)) {
    // The user insists: stop now, but take the half-written outputs along.
    remove_registered_temporaries();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}
}  // namespace

void install_cancel_handlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // Both signals are blocked while the handler runs, so a SIGTERM arriving
  // during a SIGINT's handler waits for it and is seen as the second signal.
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool cancel_requested() { return g_cancel.load(std::memory_order_relaxed); }

void request_cancel() { g_cancel = true; }

bool stop_requested(const std::atomic<bool>* job) {
  return cancel_requested() || (job != nullptr && job->load(std::memory_order_relaxed));
}

}  // namespace sf
