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
// For work made of many short dependent steps (a decoder token step: a
// dozen projections per layer, each a fraction of a millisecond), one
// fork-join per step costs more than the step's imbalance. run_region()
// keeps the threads inside one parallel region instead, and a Stages
// schedule orders the steps within it: each stage is cut into chunks that
// the threads claim, and a thread moves on to the next stage once every
// chunk of this one is done (by whichever thread). Waiting spins briefly,
// then blocks, so a thread whose core is taken by another process costs
// the others at most the chunk it holds; one that wakes late finds the
// stages done and catches up without holding anybody.
//
// Thread-safety: one caller at a time (owned by one Session).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
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

  // Runs fn(slot) once on the caller (slot 0) and once on each worker that
  // joins while the caller's fn runs (slots 1 .. threads() - 1, each used
  // at most once); returns when every joined call has returned. A worker
  // that is slow to wake may not join at all, so fn must not count on
  // other slots to make progress (Stages does not). With one thread this
  // is a plain call.
  void run_region(const std::function<void(int)>& fn);

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
  const std::function<void(int)>* region_ = nullptr;  // as fn_, for run_region
  std::atomic<int> next_slot_{1};
  // Written under mu_; read without it by workers spinning for a new job.
  std::atomic<unsigned long> generation_{0};
  // Guarded by mu_.
  bool open_ = false;
  int active_ = 0;
  bool stop_ = false;
};

// A schedule of numbered stages for the threads of one run_region(): see
// the top of this file. Every thread calls run() for every stage in the
// same order with the same chunk counts.
//
// Thread-safety: reset() while no thread is inside a region; run() from
// the threads of a region.
class Stages {
 public:
  explicit Stages(int capacity);
  Stages(const Stages&) = delete;
  Stages& operator=(const Stages&) = delete;

  int capacity() const { return capacity_; }
  // Forgets the progress of stages 0 .. count - 1 (count <= capacity()).
  void reset(int count);

  // Runs body(c) for the chunks c of stage `stage` (0 <= c < chunks) that
  // this thread claims, then waits until all `chunks` are done. Writes
  // made in one thread's chunks are visible to every thread after run()
  // returns.
  template <typename F>
  void run(int stage, int chunks, F&& body) {
    Stage& st = stages_[stage];
    int mine = 0;
    for (int c = st.next.fetch_add(1, std::memory_order_relaxed); c < chunks;
         c = st.next.fetch_add(1, std::memory_order_relaxed)) {
      body(c);
      ++mine;
    }
    if (mine > 0 && st.done.fetch_add(mine) + mine == chunks) wake();
    if (st.done.load(std::memory_order_acquire) < chunks) wait(st, chunks);
  }

 private:
  struct alignas(64) Stage {
    std::atomic<int> next{0};
    std::atomic<int> done{0};
  };
  void wait(Stage& st, int chunks);
  void wake();

  int capacity_;
  std::unique_ptr<Stage[]> stages_;
  std::atomic<int> sleepers_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace sf::asr::whisper::cpu
