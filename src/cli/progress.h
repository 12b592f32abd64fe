// Progress display: a bar with stage, percent and ETA when stderr is a
// terminal; a plain log line every 10 % otherwise. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace sf::cli {

class Progress {
 public:
  // `enabled` false shows nothing (e.g. --quiet).
  Progress(std::string stage, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` of `total` units (total <= 0: unknown, shows only `done`).
  void update(double done, double total);
  // Clears the bar (terminal) and logs the stage's time.
  void finish();

 private:
  std::mutex mu_;
  std::string stage_;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace sf::cli
