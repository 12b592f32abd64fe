// A bounded multi-producer multi-consumer queue.
//
// put() blocks while the queue is full and returns false once closed;
// get() blocks while it is empty and returns std::nullopt once it is closed
// and drained. Thread-safe: all members lock mutex_.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace sf {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  bool put(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> get() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // No more puts; getters drain what is left, then see std::nullopt.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;  // GUARDED_BY(mutex_)
  size_t capacity_;
  bool closed_ = false;  // GUARDED_BY(mutex_)
};

}  // namespace sf
