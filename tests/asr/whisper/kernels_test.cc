#include "asr/whisper/cpu/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace sf::asr::whisper::cpu {
namespace {

TEST(WhisperKernels, GeluMatchesExactErf) {
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.001953125f) x.push_back(v);
  x.push_back(0.0f);
  x.push_back(1e-20f);
  x.push_back(-88.0f);
  x.push_back(90.0f);
  std::vector<float> y = x;
  gelu(y.data(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double expect = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    ASSERT_NEAR(y[i], expect, 2e-7 * std::max(1.0, std::abs(v))) << "x = " << v;
  }
}

TEST(WhisperKernels, SoftmaxMatchesDoublePrecision) {
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 6.0f);
  for (int n : {1, 7, 8, 9, 448, 1500}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = dist(rng);
    if (n > 3) x[2] = -INFINITY;  // a masked position
    std::vector<float> y = x;
    softmax_rows(y.data(), 1, n, static_cast<size_t>(n));
    double mx = -INFINITY, sum = 0;
    for (float v : x) mx = std::max(mx, static_cast<double>(v));
    for (float v : x) sum += std::exp(v - mx);
    for (int i = 0; i < n; ++i) {
      const double expect = std::exp(x[static_cast<size_t>(i)] - mx) / sum;
      ASSERT_NEAR(y[static_cast<size_t>(i)], expect, 1e-6 * std::max(expect, 1e-3)) << n << " / " << i;
    }
  }
}

TEST(WhisperKernels, HalfGemmMatchesFloat) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> dist(-512, 512);
  const int k = 37, out = 23;  // odd sizes: vector bodies and scalar tails
  std::vector<uint16_t> w(static_cast<size_t>(k * out));
  std::vector<float> wf(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const int v = dist(rng);  // v / 256 is exact in half precision
    wf[i] = static_cast<float>(v) / 256.0f;
    // Half encoding of wf[i], built independently of the library.
    const float a = std::abs(wf[i]);
    uint16_t h = 0;
    if (a != 0) {
      int e = 0;
      const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
      const int exp = e - 1 + 15;
      const uint16_t mant = static_cast<uint16_t>(std::lround((m * 2.0f - 1.0f) * 1024.0f));
      h = static_cast<uint16_t>((exp << 10) | mant);
    }
    w[i] = static_cast<uint16_t>(h | (wf[i] < 0 ? 0x8000 : 0));
  }
  for (int rows : {1, 3, 4, 6}) {
    std::vector<float> x(static_cast<size_t>(rows * k));
    for (float& v : x) v = static_cast<float>(dist(rng)) / 512.0f;
    std::vector<float> y(static_cast<size_t>(rows * out), 1.0f);
    gemm_f16(x.data(), rows, k, w.data(), 0, out, y.data(), static_cast<size_t>(out), /*accumulate=*/true);
    // The f32 kernel over the same values, on a column sub-range.
    std::vector<float> y32(static_cast<size_t>(rows * out), -7.0f);
    gemm_f32(x.data(), rows, k, wf.data(), 3, out, y32.data(), static_cast<size_t>(out), /*accumulate=*/false);
    for (int r = 0; r < rows; ++r) {
      for (int n = 0; n < out; ++n) {
        double expect = 1.0;
        for (int j = 0; j < k; ++j) expect += static_cast<double>(x[static_cast<size_t>(r * k + j)]) * wf[static_cast<size_t>(n * k + j)];
        ASSERT_NEAR(y[static_cast<size_t>(r * out + n)], expect, 1e-5) << rows << " rows, r " << r << " n " << n;
        if (n < 3) {
          ASSERT_EQ(y32[static_cast<size_t>(r * out + n)], -7.0f);
        } else {
          ASSERT_NEAR(y32[static_cast<size_t>(r * out + n)], expect - 1.0, 1e-5) << rows << " rows, r " << r << " n " << n;
        }
      }
    }
  }
}

TEST(WhisperKernels, AttentionRowsCausalMask) {
  // Two query rows over four keys, causal: row 0 sees keys 0..2, row 1 all.
  const int dh = 8, len = 4, n = 2;
  std::vector<float> q(static_cast<size_t>(n * dh)), k(static_cast<size_t>(len * dh)), v(static_cast<size_t>(len * dh));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (float& a : q) a = dist(rng);
  for (float& a : k) a = dist(rng);
  for (float& a : v) a = dist(rng);
  std::vector<float> out(static_cast<size_t>(n * dh)), probs(static_cast<size_t>(n * len));
  attention_rows(q.data(), dh, k.data(), v.data(), dh, n, len, dh, 0.5f, true, out.data(), dh, probs.data());
  for (int r = 0; r < n; ++r) {
    const int visible = len - n + r + 1;
    std::vector<double> s(static_cast<size_t>(visible));
    double mx = -INFINITY, sum = 0;
    for (int t = 0; t < visible; ++t) {
      double d = 0;
      for (int j = 0; j < dh; ++j) d += q[static_cast<size_t>(r * dh + j)] * k[static_cast<size_t>(t * dh + j)];
      s[static_cast<size_t>(t)] = 0.5 * d;
      mx = std::max(mx, s[static_cast<size_t>(t)]);
    }
    for (double& a : s) sum += (a = std::exp(a - mx));
    for (int t = 0; t < len; ++t) {
      const double p = t < visible ? s[static_cast<size_t>(t)] / sum : 0.0;
      EXPECT_NEAR(probs[static_cast<size_t>(r * len + t)], p, 1e-6);
    }
    for (int j = 0; j < dh; ++j) {
      double o = 0;
      for (int t = 0; t < visible; ++t) o += s[static_cast<size_t>(t)] / sum * v[static_cast<size_t>(t * dh + j)];
      EXPECT_NEAR(out[static_cast<size_t>(r * dh + j)], o, 1e-5);
    }
  }
}

TEST(WhisperKernels, HalfConversionRoundTripsAndRoundsToNearestEven) {
  // Every finite half survives half -> float -> half, through both the
  // 8-wide path and the scalar tail.
  std::vector<uint16_t> all;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00u) != 0x7c00u) all.push_back(static_cast<uint16_t>(h));
  }
  std::vector<float> f(all.size());
  halfs_to_float(all.data(), f.data(), all.size());
  std::vector<uint16_t> back(all.size());
  floats_to_half(f.data(), back.data(), all.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(back[i], all[i]) << i;
  for (size_t i = 0; i < 64; ++i) {
    uint16_t one = 0;
    floats_to_half(&f[i * 997], &one, 1);
    ASSERT_EQ(one, all[i * 997]);
  }
  // Ties go to the even mantissa: 1 + 2^-11 lies halfway between 1 and
  // 1 + 2^-10; 1 + 3 * 2^-11 between 1 + 2^-10 and 1 + 2^-9.
  const float ties[9] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 0x1p-25f, 3 * 0x1p-25f, 70000.0f, -2.0f, 0.0f, -0.0f, 1e-30f};
  uint16_t out[9];
  for (int i = 0; i < 9; ++i) floats_to_half(&ties[i], &out[i], 1);
  EXPECT_EQ(out[0], 0x3c00);
  EXPECT_EQ(out[1], 0x3c02);
  EXPECT_EQ(out[2], 0x0000);
  EXPECT_EQ(out[3], 0x0002);
  EXPECT_EQ(out[4], 0x7c00);
  EXPECT_EQ(out[5], 0xc000);
  EXPECT_EQ(out[6], 0x0000);
  EXPECT_EQ(out[7], 0x8000);
  EXPECT_EQ(out[8], 0x0000);
  uint16_t vec[9];
  float padded[9];
  std::copy(ties, ties + 9, padded);
  floats_to_half(padded, vec, 9);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(vec[i], out[i]) << i;
}

TEST(WhisperKernels, HalfAttentionMatchesFloatAttentionOnHalfValues) {
  for (int dh : {64, 24}) {
    const int len = 37, n = 3;
    std::mt19937 rng(static_cast<uint32_t>(dh));
    std::normal_distribution<float> dist;
    std::vector<float> q(static_cast<size_t>(n * dh)), kf(static_cast<size_t>(len * dh)), vf(kf.size());
    for (float& a : q) a = dist(rng);
    for (float& a : kf) a = dist(rng);
    for (float& a : vf) a = dist(rng);
    std::vector<uint16_t> kh(kf.size()), vh(vf.size());
    floats_to_half(kf.data(), kh.data(), kf.size());
    floats_to_half(vf.data(), vh.data(), vf.size());
    halfs_to_float(kh.data(), kf.data(), kf.size());
    halfs_to_float(vh.data(), vf.data(), vf.size());
    for (bool causal : {false, true}) {
      std::vector<float> o1(q.size()), o2(q.size()), p1(static_cast<size_t>(n * len)), p2(p1.size());
      attention_rows(q.data(), dh, kf.data(), vf.data(), dh, n, len, dh, 0.125f, causal, o1.data(), dh, p1.data());
      attention_rows_f16(q.data(), dh, kh.data(), vh.data(), dh, n, len, dh, 0.125f, causal, o2.data(), dh, p2.data());
      for (size_t i = 0; i < o1.size(); ++i) ASSERT_NEAR(o1[i], o2[i], 1e-5) << dh << " " << causal;
      for (size_t i = 0; i < p1.size(); ++i) ASSERT_NEAR(p1[i], p2[i], 1e-6) << dh << " " << causal;
    }
  }
}

}  // namespace
}  // namespace sf::asr::whisper::cpu

namespace sf::asr::whisper::cpu {
namespace {

// The half-precision kernels at the decoder's real widths (where the
// AVX-512 variants run on CPUs that have it) against plain double sums
// over the same half values; attention_heads_f16 against the checked
// single-head kernel.
TEST(WhisperKernels, HalfKernelsMatchScalarAtModelWidths) {
  std::mt19937 rng(17);
  std::normal_distribution<float> dist;
  for (int k : {384, 1536, 72, 200}) {  // multiples of 64, of 8, and neither
    const int out = 45;
    std::vector<float> wf(static_cast<size_t>(k * out)), x(static_cast<size_t>(k));
    for (float& a : wf) a = dist(rng);
    for (float& a : x) a = dist(rng);
    std::vector<uint16_t> w(wf.size());
    floats_to_half(wf.data(), w.data(), wf.size());
    halfs_to_float(w.data(), wf.data(), wf.size());
    std::vector<float> y(static_cast<size_t>(out), 2.0f);
    gemm_f16(x.data(), 1, k, w.data(), 5, out, y.data(), static_cast<size_t>(out), /*accumulate=*/true);
    for (int n = 0; n < out; ++n) {
      double expect = 2.0;
      for (int j = 0; j < k && n >= 5; ++j) expect += static_cast<double>(x[static_cast<size_t>(j)]) * wf[static_cast<size_t>(n * k + j)];
      ASSERT_NEAR(y[static_cast<size_t>(n)], expect, 1e-4 * std::sqrt(k)) << "k " << k << " n " << n;
    }
  }
  for (int dh : {64, 32}) {
    for (int len : {1, 7, 1500}) {
      const int n = std::min(len, 3);
      const size_t ld = static_cast<size_t>(dh) * 3;  // one head of three
      std::vector<float> q(static_cast<size_t>(n) * ld), kf(static_cast<size_t>(len) * ld), vf(kf.size());
      for (float& a : q) a = dist(rng);
      for (float& a : kf) a = dist(rng);
      for (float& a : vf) a = dist(rng);
      std::vector<uint16_t> kh(kf.size()), vh(vf.size());
      floats_to_half(kf.data(), kh.data(), kf.size());
      floats_to_half(vf.data(), vh.data(), vf.size());
      halfs_to_float(kh.data(), kf.data(), kf.size());
      halfs_to_float(vh.data(), vf.data(), vf.size());
      const size_t off = static_cast<size_t>(dh);  // the middle head
      for (bool causal : {false, true}) {
        std::vector<float> o(static_cast<size_t>(n) * ld, 9.0f), p(static_cast<size_t>(n * len));
        attention_rows_f16(q.data() + off, ld, kh.data() + off, vh.data() + off, ld, n, len, dh, 0.125f, causal,
                           o.data() + off, ld, p.data());
        for (int r = 0; r < n; ++r) {
          const int visible = causal ? len - n + r + 1 : len;
          std::vector<double> s(static_cast<size_t>(visible));
          double mx = -INFINITY, sum = 0;
          for (int t = 0; t < visible; ++t) {
            double d = 0;
            for (int j = 0; j < dh; ++j) {
              d += static_cast<double>(q[static_cast<size_t>(r) * ld + off + static_cast<size_t>(j)]) *
                   kf[static_cast<size_t>(t) * ld + off + static_cast<size_t>(j)];
            }
            s[static_cast<size_t>(t)] = 0.125 * d;
            mx = std::max(mx, s[static_cast<size_t>(t)]);
          }
          for (double& a : s) sum += (a = std::exp(a - mx));
          for (int t = 0; t < len; ++t) {
            const double pe = t < visible ? s[static_cast<size_t>(t)] / sum : 0.0;
            ASSERT_NEAR(p[static_cast<size_t>(r * len + t)], pe, 1e-6) << dh << " " << len << " " << causal;
          }
          for (int j = 0; j < dh; ++j) {
            double oe = 0;
            for (int t = 0; t < visible; ++t) {
              oe += s[static_cast<size_t>(t)] / sum * vf[static_cast<size_t>(t) * ld + off + static_cast<size_t>(j)];
            }
            ASSERT_NEAR(o[static_cast<size_t>(r) * ld + off + static_cast<size_t>(j)], oe, 1e-5)
                << dh << " " << len << " " << causal;
          }
          // Other heads' columns are untouched.
          ASSERT_EQ(o[static_cast<size_t>(r) * ld], 9.0f);
          ASSERT_EQ(o[static_cast<size_t>(r) * ld + 2 * off], 9.0f);
        }
        // All three heads in one call: the middle one as above.
        std::vector<float> oh(o.size(), 9.0f), ph(3 * p.size());
        attention_heads_f16(q.data(), ld, kh.data(), vh.data(), ld, n, len, 3, dh, 0.125f, causal, oh.data(), ld,
                            ph.data());
        for (int r = 0; r < n; ++r) {
          for (int j = 0; j < dh; ++j) {
            const size_t at = static_cast<size_t>(r) * ld + off + static_cast<size_t>(j);
            ASSERT_NEAR(oh[at], o[at], 1e-5) << dh << " " << len << " " << causal;
          }
        }
        for (size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(ph[p.size() + i], p[i], 1e-6) << dh << " " << len;
      }
    }
  }
}

}  // namespace
}  // namespace sf::asr::whisper::cpu
