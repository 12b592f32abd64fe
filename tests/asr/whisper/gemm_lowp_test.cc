#include "asr/whisper/cpu/gemm_lowp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "asr/whisper/backend.h"

namespace sf::asr::whisper::cpu {
namespace {

size_t sz(int v) { return static_cast<size_t>(v); }

float bf16_value(float f) {
  // Round to nearest even, as the kernels do, then back to f32.
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits = ((bits + ((bits >> 16) & 1u) + 0x7fffu) >> 16) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

std::vector<float> random_matrix(int rows, int cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> m(sz(rows) * sz(cols));
  for (float& v : m) v = dist(rng);
  return m;
}

// Shapes with every edge: k odd / not a multiple of 4, n past a whole
// panel, m past a whole block of rows and of the micro-kernel.
struct Shape {
  int m, n, k;
};
constexpr Shape kShapes[] = {{1, 1, 1}, {7, 33, 5}, {9, 64, 64}, {100, 70, 383}, {203, 384, 384}, {17, 31, 1536}};

TEST(WhisperLowp, Bf16GemmIsTheExactProductOfRoundedInputs) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.m << "x" << s.n << "x" << s.k);
    const auto a = random_matrix(s.m, s.k, 1);
    const auto w = random_matrix(s.n, s.k, 2);  // [n][k], a Linear weight
    PackedBf16 b;
    pack_bf16_nk(w.data(), s.n, s.k, sz(s.k), &b);
    EXPECT_EQ(b.k_pad % 2, 0);
    std::vector<uint16_t> ab(sz(s.m) * sz(b.k_pad));
    to_bf16_rows(a.data(), s.m, s.k, sz(s.k), ab.data(), sz(b.k_pad), b.k_pad);
    // C starts at 1 and accumulates: checks both alpha and accumulate.
    std::vector<float> c(sz(s.m) * sz(s.n), 1.0f);
    gemm_bf16(ab.data(), sz(b.k_pad), 0, s.m, b, 0, b.panels(), c.data(), sz(s.n), 0.5f, true);
    for (int i = 0; i < s.m; ++i) {
      for (int j = 0; j < s.n; ++j) {
        double exact = 0, mag = 0;
        for (int kk = 0; kk < s.k; ++kk) {
          const double p = static_cast<double>(bf16_value(a[sz(i) * sz(s.k) + sz(kk)])) *
                           static_cast<double>(bf16_value(w[sz(j) * sz(s.k) + sz(kk)]));
          exact += p;
          mag += std::abs(p);
        }
        // Only the f32 accumulation may differ.
        ASSERT_NEAR(c[sz(i) * sz(s.n) + sz(j)], 1.0 + 0.5 * exact, 1e-6 * (mag + 1.0)) << i << "," << j;
      }
    }
  }
}

TEST(WhisperLowp, Bf16PackingFromKeyAndValueLayoutsAgree) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  const int m = 11, n = 45, k = 37;
  const auto a = random_matrix(m, k, 3);
  const auto bt = random_matrix(n, k, 4);  // B^T [n][k]
  std::vector<float> b(sz(k) * sz(n));      // B [k][n]
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) b[sz(j) * sz(n) + sz(i)] = bt[sz(i) * sz(k) + sz(j)];
  PackedBf16 p1, p2;
  pack_bf16_nk(bt.data(), n, k, sz(k), &p1);
  pack_bf16_kn(b.data(), k, n, sz(n), &p2);
  EXPECT_EQ(p1.data, p2.data);
}

TEST(WhisperLowp, SoftmaxToBf16MatchesTheF32Softmax) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  for (int n : {1, 15, 16, 33, 1500}) {
    auto x = random_matrix(3, n, 5);
    for (float& v : x) v *= 4.0f;
    const auto original = x;
    const int k_pad = (n + 1) & ~1;
    std::vector<uint16_t> y(sz(3) * sz(k_pad), 0xffff);
    softmax_rows_to_bf16(x.data(), 3, n, sz(n), y.data(), sz(k_pad), k_pad);
    for (int r = 0; r < 3; ++r) {
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < n; ++j) mx = std::max(mx, static_cast<double>(original[sz(r) * sz(n) + sz(j)]));
      for (int j = 0; j < n; ++j) sum += std::exp(original[sz(r) * sz(n) + sz(j)] - mx);
      for (int j = 0; j < k_pad; ++j) {
        uint32_t bits = static_cast<uint32_t>(y[sz(r) * sz(k_pad) + sz(j)]) << 16;
        float got;
        std::memcpy(&got, &bits, 4);
        const double expect = j < n ? std::exp(original[sz(r) * sz(n) + sz(j)] - mx) / sum : 0.0;
        ASSERT_NEAR(got, expect, expect * 4e-3 + 1e-7) << "n " << n << " row " << r << " col " << j;
      }
    }
  }
}

TEST(WhisperLowp, Int8GemmIsTheExactProductOfQuantizedInputs) {
  if (!cpu_features().avx512_vnni) GTEST_SKIP() << "this CPU has no AVX-512 VNNI";
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.m << "x" << s.n << "x" << s.k);
    auto a = random_matrix(s.m, s.k, 6);
    if (s.m > 2) std::fill(a.begin() + static_cast<long>(s.k), a.begin() + 2 * static_cast<long>(s.k), 0.0f);
    const auto w = random_matrix(s.n, s.k, 7);
    PackedInt8 b;
    pack_int8_nk(w.data(), s.n, s.k, sz(s.k), &b);
    EXPECT_EQ(b.k_pad % 4, 0);
    std::vector<uint8_t> aq(sz(s.m) * sz(b.k_pad));
    std::vector<float> scales(sz(s.m));
    quantize_rows_u8(a.data(), s.m, s.k, sz(s.k), aq.data(), sz(b.k_pad), b.k_pad, scales.data());
    std::vector<float> c(sz(s.m) * sz(s.n));
    gemm_int8(aq.data(), sz(b.k_pad), scales.data(), 0, s.m, b, 0, b.panels(), c.data(), sz(s.n), 2.0f, false);
    // The quantized values, read back out of the packed panel layout.
    auto qb = [&](int col, int kk) {
      const int p = col / kPanel, j = col % kPanel;
      return static_cast<int>(b.data[sz(p) * sz(b.k_pad) * kPanel + sz(kk / 4) * kPanel * 4 + sz(j) * 4 + sz(kk % 4)]);
    };
    double err = 0, norm = 0;
    for (int i = 0; i < s.m; ++i) {
      for (int j = 0; j < s.n; ++j) {
        long exact_q = 0;
        double exact = 0;
        for (int kk = 0; kk < s.k; ++kk) {
          exact_q += (static_cast<int>(aq[sz(i) * sz(b.k_pad) + sz(kk)]) - 128) * qb(j, kk);
          exact += static_cast<double>(a[sz(i) * sz(s.k) + sz(kk)]) * w[sz(j) * sz(s.k) + sz(kk)];
        }
        const double want = 2.0 * scales[sz(i)] * b.scale[sz(j)] * static_cast<double>(exact_q);
        const float got = c[sz(i) * sz(s.n) + sz(j)];
        ASSERT_NEAR(got, want, 1e-5 * (std::abs(want) + 1.0)) << i << "," << j;
        err += (got - 2.0 * exact) * (got - 2.0 * exact);
        norm += 4.0 * exact * exact;
      }
    }
    // And the quantization itself costs about 1 % on Gaussian data.
    if (norm > 0 && s.k >= 64) {
      EXPECT_LT(std::sqrt(err / norm), 0.02);
    }
  }
}

}  // namespace
}  // namespace sf::asr::whisper::cpu
