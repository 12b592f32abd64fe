#include "asr/whisper/cpu/parallel.h"

#include <algorithm>
#include <chrono>

namespace sf::asr::whisper::cpu {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// How long a waiting thread spins before it blocks: longer than the gap
// between two stages or two token steps (microseconds), far shorter than a
// scheduler time slice, so a thread waiting on one whose core is taken
// soon gives its own core back.
constexpr auto kSpin = std::chrono::microseconds(50);

// Spins until done() or kSpin has passed; returns done().
template <typename Pred>
bool spin_until(Pred done) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < std::max(threads, 1); ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= chunks_) return;
    (*fn_)(i * chunk_, std::min(n_, (i + 1) * chunk_));
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk) {
  if (n == 0) return;
  min_chunk = std::max<size_t>(min_chunk, 1);
  // A few chunks per thread balance uneven progress without much overhead.
  const size_t want = static_cast<size_t>(threads()) * 4;
  const size_t chunks = std::min(want, n / min_chunk);
  if (workers_.empty() || chunks <= 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    region_ = nullptr;
    n_ = n;
    chunk_ = (n + chunks - 1) / chunks;
    chunks_ = (n + chunk_ - 1) / chunk_;
    next_.store(0, std::memory_order_relaxed);
    open_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  run_chunks();
  std::unique_lock<std::mutex> lock(mu_);
  // Every chunk is claimed; wait for the workers still running one.
  done_cv_.wait(lock, [this] { return active_ == 0; });
  open_ = false;
  fn_ = nullptr;
}

void ThreadPool::run_region(const std::function<void(int)>& fn) {
  if (workers_.empty()) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = nullptr;
    region_ = &fn;
    next_slot_.store(1, std::memory_order_relaxed);
    open_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return active_ == 0; });
  open_ = false;
  region_ = nullptr;
}

void ThreadPool::worker() {
  unsigned long seen = 0;
  bool after_region = false;
  for (;;) {
    // After a region a new one usually follows within microseconds (the
    // next token step); catch it without a round trip through the
    // scheduler. Not after parallel_for: OpenBLAS's threads run next.
    if (after_region) spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    const std::function<void(int)>* region = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || (open_ && generation_.load(std::memory_order_relaxed) != seen); });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
      region = region_;
      ++active_;
    }
    after_region = region != nullptr;
    if (region != nullptr) {
      (*region)(next_slot_.fetch_add(1, std::memory_order_relaxed));
    } else {
      run_chunks();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_cv_.notify_one();
    }
  }
}

Stages::Stages(int capacity) : capacity_(capacity), stages_(new Stage[static_cast<size_t>(std::max(capacity, 1))]) {}

void Stages::reset(int count) {
  for (int i = 0; i < std::min(count, capacity_); ++i) {
    stages_[i].next.store(0, std::memory_order_relaxed);
    stages_[i].done.store(0, std::memory_order_relaxed);
  }
}

void Stages::wait(Stage& st, int chunks) {
  if (spin_until([&] { return st.done.load(std::memory_order_acquire) >= chunks; })) return;
  // Sleepers are counted before the last look at `done` and read after
  // the last increment of it (both sequentially consistent), so either the
  // waiter sees the stage done or wake() sees the waiter.
  sleepers_.fetch_add(1);
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return st.done.load() >= chunks; });
  }
  sleepers_.fetch_sub(1);
}

void Stages::wake() {
  if (sleepers_.load() == 0) return;
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
}

}  // namespace sf::asr::whisper::cpu
