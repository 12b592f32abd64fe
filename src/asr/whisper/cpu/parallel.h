// A small fork-join pool for the CPU backend's element-wise work.
//
// The GEMMs run on OpenBLAS's own threads; this pool runs the work between
// them (softmax, GELU, LayerNorm, im2col) on the same number of threads.
// The two never run at once: parallel_for() returns only when every chunk is
// done, and it is only called between BLAS calls, so the machine is never
// oversubscribed.
//
// Thread-safety: one caller at a time (owned by one Session).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sf::asr::whisper::cpu {

class ThreadPool {
 public:
  // `threads` >= 1 counts the caller: threads - 1 workers are started.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Splits [0, n) into one contiguous range per thread and runs fn(begin,
  // end) on each, the caller taking the first. Work smaller than
  // `min_per_thread` items per thread runs on the caller alone.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_per_thread = 1);

 private:
  void worker(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  // Guarded by mu_.
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  int parts_ = 0;
  unsigned long generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace sf::asr::whisper::cpu
