// A small fork-join pool for the CPU backend's element-wise work.
//
// The GEMMs run on OpenBLAS's own threads; this pool runs the work between
// them (softmax, GELU, LayerNorm, the decoder's streaming kernels) on the
// same number of threads. The two never run at once: parallel_for()
// returns only when every chunk is done, and it is only called between
// BLAS calls, so the machine is never oversubscribed.
//
// Work is cut into chunks that the caller and the workers claim as they
// go: a worker that is slow to wake (its core busy with another process)
// simply finds less or nothing left, so more threads are never much slower
// than one.
//
// Thread-safety: one caller at a time (owned by one Session).
#pragma once

#include <atomic>
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

  // Runs fn(begin, end) over contiguous chunks covering [0, n), each of at
  // least `min_chunk` items (except the last), on the caller and the
  // workers. Returns when all are done. Work of fewer than 2 * min_chunk
  // items runs on the caller alone.
  void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk = 1);

 private:
  void worker();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  // The current job. fn_/n_/chunk_/chunks_ are written under mu_ while no
  // worker is active, and read by active workers without the lock.
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  size_t chunk_ = 0;
  size_t chunks_ = 0;
  std::atomic<size_t> next_{0};
  // Guarded by mu_.
  bool open_ = false;
  unsigned long generation_ = 0;
  int active_ = 0;
  bool stop_ = false;
};

}  // namespace sf::asr::whisper::cpu
