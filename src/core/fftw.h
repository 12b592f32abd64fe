// FFTW (single precision) ownership helpers shared by the audio front ends
// (Whisper's log-mel, PocketSphinx's noise reduction).
//
// FFTW's planner keeps global state and is not thread-safe; executing a
// plan on arrays it was made for is. Every plan in the program is made and
// destroyed under fftw_planner_mutex(): one mutex for the whole process
// (an inline function's static is shared by every translation unit).
#pragma once

#include <fftw3.h>

#include <memory>
#include <mutex>

namespace sf::core {

inline std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

// An array from fftwf_malloc (SIMD-aligned), freed with fftwf_free.
template <typename T>
using FftwBuffer = std::unique_ptr<T[], FftwFree>;

// `count` elements of T from fftwf_malloc.
template <typename T>
FftwBuffer<T> fftw_alloc(size_t count) {
  return FftwBuffer<T>(static_cast<T*>(fftwf_malloc(sizeof(T) * count)));
}

struct FftwPlanFree {
  void operator()(fftwf_plan_s* p) const {
    std::lock_guard lock(fftw_planner_mutex());
    fftwf_destroy_plan(p);
  }
};

// A plan, destroyed under the planner mutex. Make it with the mutex held.
using FftwPlan = std::unique_ptr<fftwf_plan_s, FftwPlanFree>;

}  // namespace sf::core
