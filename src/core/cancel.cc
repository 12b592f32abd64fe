#include "core/cancel.h"

#include <csignal>

#include <atomic>

namespace sf {
namespace {
std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int sig) {
  if (g_cancel.exchange(true)) {
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
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool cancel_requested() { return g_cancel.load(std::memory_order_relaxed); }

void request_cancel() { g_cancel = true; }

bool stop_requested(const std::atomic<bool>* job) {
  return cancel_requested() || (job != nullptr && job->load(std::memory_order_relaxed));
}

}  // namespace sf
