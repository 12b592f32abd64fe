#include "asr/whisper/cpu/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

namespace sf::asr::whisper::cpu {
namespace {

// A chain of stages where each one reads every value the previous stage
// wrote (a prefix sum over the whole array), so any chunk that ran before
// its predecessor stage was complete would show in the result.
TEST(WhisperParallel, StagesRunInOrderOnEveryThreadCount) {
  constexpr int kStages = 40;
  constexpr int kN = 97;
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    Stages stages(kStages);
    for (int round = 0; round < 20; ++round) {
      std::vector<std::vector<long>> v(kStages + 1, std::vector<long>(kN, 0));
      std::iota(v[0].begin(), v[0].end(), round);
      std::atomic<int> chunks_run{0};
      std::vector<std::atomic<int>> slots(static_cast<size_t>(threads));
      stages.reset(kStages);
      pool.run_region([&](int slot) {
        ASSERT_GE(slot, 0);
        ASSERT_LT(slot, threads);
        EXPECT_EQ(slots[static_cast<size_t>(slot)].fetch_add(1), 0) << "slot " << slot << " used twice";
        for (int s = 0; s < kStages; ++s) {
          const int chunks = 1 + (s % 7);
          stages.run(s, chunks, [&](int c) {
            chunks_run.fetch_add(1);
            const long total = std::accumulate(v[static_cast<size_t>(s)].begin(), v[static_cast<size_t>(s)].end(), 0L);
            for (int i = c * kN / chunks; i < (c + 1) * kN / chunks; ++i) {
              v[static_cast<size_t>(s) + 1][static_cast<size_t>(i)] = v[static_cast<size_t>(s)][static_cast<size_t>(i)] + total % 1000;
            }
          });
        }
      });
      int want_chunks = 0;
      std::vector<long> expect(kN);
      std::iota(expect.begin(), expect.end(), round);
      for (int s = 0; s < kStages; ++s) {
        want_chunks += 1 + (s % 7);
        const long total = std::accumulate(expect.begin(), expect.end(), 0L);
        for (long& e : expect) e += total % 1000;
      }
      EXPECT_EQ(chunks_run.load(), want_chunks) << threads << " threads";
      EXPECT_EQ(v[kStages], expect) << threads << " threads, round " << round;
    }
  }
}

// parallel_for and run_region share the workers; alternating them works.
TEST(WhisperParallel, RegionsAndParallelForAlternate) {
  ThreadPool pool(2);
  Stages stages(1);
  for (int round = 0; round < 50; ++round) {
    std::vector<int> a(1000, 0);
    pool.parallel_for(a.size(), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) a[i] += 1;
    });
    stages.reset(1);
    pool.run_region([&](int) {
      stages.run(0, 10, [&](int c) {
        for (int i = c * 100; i < (c + 1) * 100; ++i) a[static_cast<size_t>(i)] += 2;
      });
    });
    for (int x : a) ASSERT_EQ(x, 3);
  }
}

}  // namespace
}  // namespace sf::asr::whisper::cpu
