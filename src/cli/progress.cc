#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"

namespace sf::cli {

Progress::Progress(std::string stage, bool enabled)
    : stage_(std::move(stage)),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

void Progress::update(double done, double total) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double frac = total > 0 ? std::min(1.0, done / total) : 0;
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && frac < 1.0) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    int fill = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(kWidth, '.');
    double eta = frac > 0.01 ? elapsed * (1 - frac) / frac : -1;
    char etabuf[32] = "--:--";
    if (eta >= 0) std::snprintf(etabuf, sizeof(etabuf), "%d:%02d", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::fprintf(stderr, "\r%-12s [%s] %3d%%  ETA %s ", stage_.c_str(), bar.c_str(),
                 static_cast<int>(frac * 100), etabuf);
    std::fflush(stderr);
    return;
  }
  int decile = static_cast<int>(frac * 10);
  if (total > 0 && decile > last_decile_) {
    last_decile_ = decile;
    SF_LOG_INFO("{}: {}% ({:.1f} s elapsed)", stage_, decile * 10, elapsed);
  }
}

void Progress::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (tty_ && last_draw_.time_since_epoch().count() != 0) std::fprintf(stderr, "\r\033[K");
}

}  // namespace sf::cli
