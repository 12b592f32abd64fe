#include "asr/whisper/cpu/kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sf::asr::whisper::cpu {

namespace {

bool have_avx2() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

// exp for 8 floats: range reduction to [-ln2/2, ln2/2] and a degree-6
// polynomial (the classic single-precision minimax coefficients), then
// scaling by 2^n through the exponent bits.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.33654f)), _mm256_set1_ps(88.3762626647949f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, z, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_cvttps_epi32(fx);
  n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

__attribute__((target("avx2,fma"))) inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void softmax_row_avx2(float* x, int n) {
  int i = 0;
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  float mx = hmax8(vmax);
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  const __m256 vm = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum8(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  const __m256 vinv = _mm256_set1_ps(inv);
  i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

void softmax_row_portable(float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 load_half8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const uint16_t* p) { return load_half8(p); }
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }

inline float to_float(uint16_t h) { return half_to_float(h); }
inline float to_float(float f) { return f; }

bool have_f16c() {
  static const bool ok = have_avx2() && __builtin_cpu_supports("f16c");
  return ok;
}

// Up to 4 rows at once, so each converted weight vector feeds 4 FMAs; the
// row groups are the inner loop, so each weight row is read from memory
// once (it stays in L1 across the groups) however many rows there are.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void gemm_rows_avx2(const float* x, int rows, int k, const T* w, int n0,
                                                             int n1, float* y, size_t ldy, bool accumulate) {
  const int k8 = k / 8 * 8;
  for (int n = n0; n < n1; ++n) {
    const T* wn = w + static_cast<size_t>(n) * static_cast<size_t>(k);
    const char* ahead = reinterpret_cast<const char*>(wn + 2 * static_cast<size_t>(k));
    for (size_t b = 0; b < static_cast<size_t>(k) * sizeof(T); b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
    for (int r0 = 0; r0 < rows; r0 += 4) {
      const int nr = std::min(4, rows - r0);
      const float* xr[4];
      for (int r = 0; r < 4; ++r) xr[r] = x + static_cast<size_t>(r0 + std::min(r, nr - 1)) * static_cast<size_t>(k);
      // Two chains per row (even and odd 8-blocks) halve the FMA latency
      // chain.
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
             a3 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(),
             b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
      int j = 0;
      for (; j + 16 <= k8; j += 16) {
        const __m256 wv = load8(wn + j);
        const __m256 wu = load8(wn + j + 8);
        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[0] + j), a0);
        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[1] + j), a1);
        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[2] + j), a2);
        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[3] + j), a3);
        b0 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(xr[0] + j + 8), b0);
        b1 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(xr[1] + j + 8), b1);
        b2 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(xr[2] + j + 8), b2);
        b3 = _mm256_fmadd_ps(wu, _mm256_loadu_ps(xr[3] + j + 8), b3);
      }
      for (; j < k8; j += 8) {
        const __m256 wv = load8(wn + j);
        a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[0] + j), a0);
        a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[1] + j), a1);
        a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[2] + j), a2);
        a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr[3] + j), a3);
      }
      float sums[4] = {hsum8(_mm256_add_ps(a0, b0)), hsum8(_mm256_add_ps(a1, b1)), hsum8(_mm256_add_ps(a2, b2)),
                       hsum8(_mm256_add_ps(a3, b3))};
      for (j = k8; j < k; ++j) {
        const float wj = to_float(wn[j]);
        for (int r = 0; r < 4; ++r) sums[r] += wj * xr[r][j];
      }
      for (int r = 0; r < nr; ++r) {
        float* dst = y + static_cast<size_t>(r0 + r) * ldy + static_cast<size_t>(n);
        *dst = accumulate ? *dst + sums[r] : sums[r];
      }
    }
  }
}

// One row: each weight row is one sequential stream, summed with four
// independent FMA chains (the latency of one chain would bound it), and
// prefetched a few rows ahead.
template <typename T>
__attribute__((target("avx2,fma,f16c"))) void gemv_avx2(const float* x, int k, const T* w, int n0, int n1, float* y,
                                                        bool accumulate) {
  const int k32 = k / 32 * 32;
  const int k8 = k / 8 * 8;
  for (int n = n0; n < n1; ++n) {
    const T* wn = w + static_cast<size_t>(n) * static_cast<size_t>(k);
    const char* ahead = reinterpret_cast<const char*>(wn + 4 * static_cast<size_t>(k));
    for (size_t b = 0; b < static_cast<size_t>(k) * sizeof(T); b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int j = 0;
    for (; j < k32; j += 32) {
      a0 = _mm256_fmadd_ps(load8(wn + j), _mm256_loadu_ps(x + j), a0);
      a1 = _mm256_fmadd_ps(load8(wn + j + 8), _mm256_loadu_ps(x + j + 8), a1);
      a2 = _mm256_fmadd_ps(load8(wn + j + 16), _mm256_loadu_ps(x + j + 16), a2);
      a3 = _mm256_fmadd_ps(load8(wn + j + 24), _mm256_loadu_ps(x + j + 24), a3);
    }
    for (; j < k8; j += 8) a0 = _mm256_fmadd_ps(load8(wn + j), _mm256_loadu_ps(x + j), a0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; j < k; ++j) sum += to_float(wn[j]) * x[j];
    y[n] = accumulate ? y[n] + sum : sum;
  }
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float alpha, const float* x, float* y, int n) {
  const __m256 va = _mm256_set1_ps(alpha);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

float dot(const float* a, const float* b, int n) {
  if (have_avx2()) return dot_avx2(a, b, n);
  float s = 0.0f;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int n) {
  if (have_avx2()) {
    axpy_avx2(alpha, x, y, n);
    return;
  }
  for (int i = 0; i < n; ++i) y[i] += alpha * x[i];
}

uint16_t float_to_half(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const uint32_t abs = b & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past the largest half
  if (abs < 0x38800000u) {
    // Subnormal half (or zero): shift the full mantissa into place and
    // round to nearest even.
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + (112 - e) + ... : bits dropped
    const uint32_t half_m = m >> (shift);
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    uint32_t r = half_m;
    if (rem > mid || (rem == mid && (half_m & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return static_cast<uint16_t>(sign | r);
}

// Scores four keys at a time (independent FMA chains), then the weighted
// sum of values with the output row held in registers when dh is 64.

template <typename T>
__attribute__((target("avx2,fma,f16c"))) void attention_rows_avx2(const float* q, size_t ldq, const T* k, const T* v,
                                                                  size_t ldkv, int n, int len, int dh, float scale,
                                                                  bool causal, float* out, size_t ldo, float* probs) {
  for (int r = 0; r < n; ++r) {
    const float* qr = q + static_cast<size_t>(r) * ldq;
    float* p = probs + static_cast<size_t>(r) * static_cast<size_t>(len);
    const int visible = causal ? len - n + r + 1 : len;
    int t = 0;
    for (; t + 4 <= visible; t += 4) {
      const T* k0 = k + static_cast<size_t>(t) * ldkv;
      const T* k1 = k0 + ldkv;
      const T* k2 = k1 + ldkv;
      const T* k3 = k2 + ldkv;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      for (int j = 0; j < dh; j += 8) {
        const __m256 qv = _mm256_loadu_ps(qr + j);
        a0 = _mm256_fmadd_ps(qv, load8(k0 + j), a0);
        a1 = _mm256_fmadd_ps(qv, load8(k1 + j), a1);
        a2 = _mm256_fmadd_ps(qv, load8(k2 + j), a2);
        a3 = _mm256_fmadd_ps(qv, load8(k3 + j), a3);
      }
      const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
      const __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
      _mm_storeu_ps(p + t, _mm_mul_ps(sum4, _mm_set1_ps(scale)));
    }
    for (; t < visible; ++t) {
      const T* kt = k + static_cast<size_t>(t) * ldkv;
      __m256 a = _mm256_setzero_ps();
      for (int j = 0; j < dh; j += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(qr + j), load8(kt + j), a);
      p[t] = scale * hsum8(a);
    }
    softmax_row_avx2(p, visible);
    std::fill(p + visible, p + len, 0.0f);
    float* o = out + static_cast<size_t>(r) * ldo;
    if (dh == 64) {
      __m256 o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps(), o2 = _mm256_setzero_ps(), o3 = _mm256_setzero_ps(),
             o4 = _mm256_setzero_ps(), o5 = _mm256_setzero_ps(), o6 = _mm256_setzero_ps(), o7 = _mm256_setzero_ps();
      for (int tt = 0; tt < visible; ++tt) {
        const T* vt = v + static_cast<size_t>(tt) * ldkv;
        const __m256 pv = _mm256_set1_ps(p[tt]);
        o0 = _mm256_fmadd_ps(pv, load8(vt), o0);
        o1 = _mm256_fmadd_ps(pv, load8(vt + 8), o1);
        o2 = _mm256_fmadd_ps(pv, load8(vt + 16), o2);
        o3 = _mm256_fmadd_ps(pv, load8(vt + 24), o3);
        o4 = _mm256_fmadd_ps(pv, load8(vt + 32), o4);
        o5 = _mm256_fmadd_ps(pv, load8(vt + 40), o5);
        o6 = _mm256_fmadd_ps(pv, load8(vt + 48), o6);
        o7 = _mm256_fmadd_ps(pv, load8(vt + 56), o7);
      }
      _mm256_storeu_ps(o, o0);
      _mm256_storeu_ps(o + 8, o1);
      _mm256_storeu_ps(o + 16, o2);
      _mm256_storeu_ps(o + 24, o3);
      _mm256_storeu_ps(o + 32, o4);
      _mm256_storeu_ps(o + 40, o5);
      _mm256_storeu_ps(o + 48, o6);
      _mm256_storeu_ps(o + 56, o7);
    } else {
      std::fill(o, o + dh, 0.0f);
      for (int tt = 0; tt < visible; ++tt) {
        const T* vt = v + static_cast<size_t>(tt) * ldkv;
        const __m256 pv = _mm256_set1_ps(p[tt]);
        for (int j = 0; j < dh; j += 8) {
          _mm256_storeu_ps(o + j, _mm256_fmadd_ps(pv, load8(vt + j), _mm256_loadu_ps(o + j)));
        }
      }
    }
  }
}

__attribute__((target("avx2,fma,f16c"))) void floats_to_half_f16c(const float* x, uint16_t* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) y[i] = float_to_half(x[i]);
}

bool have_avx512() {
  static const bool ok = have_f16c() && __builtin_cpu_supports("avx512f");
  return ok;
}

// (Written with zero-masked conversions and lane shuffles rather than the
// plain intrinsics, whose undefined-source form GCC 12 reports as maybe
// uninitialized.)
__attribute__((target("avx512f,avx2,fma,f16c"))) inline __m512 load_half16(const uint16_t* p) {
  return _mm512_maskz_cvtph_ps(0xffff, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

__attribute__((target("avx512f,avx2,fma,f16c"))) inline __m256 fold16(__m512 v) {
  const __m512d d = _mm512_castps_pd(v);
  return _mm256_add_ps(_mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, d, 0)),
                       _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xff, d, 1)));
}

__attribute__((target("avx512f,avx2,fma,f16c"))) inline float hsum16(__m512 v) { return hsum8(fold16(v)); }

// gemv_avx2 over half weights with 512-bit vectors: one conversion and one
// FMA per 16 weights instead of per 8, so the core keeps up with memory
// when the rows are short (a single core's streaming rate is already near
// one FMA per cycle with 256-bit vectors).
__attribute__((target("avx512f,avx2,fma,f16c"))) void gemv_f16_avx512(const float* x, int k, const uint16_t* w, int n0,
                                                                       int n1, float* y, bool accumulate) {
  const int k64 = k / 64 * 64;
  const int k16 = k / 16 * 16;
  for (int n = n0; n < n1; ++n) {
    const uint16_t* wn = w + static_cast<size_t>(n) * static_cast<size_t>(k);
    const char* ahead = reinterpret_cast<const char*>(wn + 4 * static_cast<size_t>(k));
    for (size_t b = 0; b < static_cast<size_t>(k) * sizeof(uint16_t); b += 64) _mm_prefetch(ahead + b, _MM_HINT_T0);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int j = 0;
    for (; j < k64; j += 64) {
      a0 = _mm512_fmadd_ps(load_half16(wn + j),
                           _mm512_loadu_ps(x + j), a0);
      a1 = _mm512_fmadd_ps(load_half16(wn + j + 16),
                           _mm512_loadu_ps(x + j + 16), a1);
      a2 = _mm512_fmadd_ps(load_half16(wn + j + 32),
                           _mm512_loadu_ps(x + j + 32), a2);
      a3 = _mm512_fmadd_ps(load_half16(wn + j + 48),
                           _mm512_loadu_ps(x + j + 48), a3);
    }
    for (; j < k16; j += 16) {
      a0 = _mm512_fmadd_ps(load_half16(wn + j),
                           _mm512_loadu_ps(x + j), a0);
    }
    float sum = hsum16(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; j < k; ++j) sum += half_to_float(wn[j]) * x[j];
    y[n] = accumulate ? y[n] + sum : sum;
  }
}

// The sums of four vectors, as one vector of 4.
__attribute__((target("avx512f,avx2,fma,f16c"))) inline __m128 hsum4x16(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(fold16(a), fold16(b)), _mm256_hadd_ps(fold16(c), fold16(d)));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

// attention_rows_avx2 over half keys/values with 512-bit vectors, for
// dh % 16 == 0: the cross-attention of a decoder step (1500 keys a head)
// is bound by conversions and FMAs, not memory, so halving their count is
// what counts.
__attribute__((target("avx512f,avx2,fma,f16c"))) void attention_rows_f16_avx512(
    const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len, int dh, float scale,
    bool causal, float* out, size_t ldo, float* probs) {
  for (int r = 0; r < n; ++r) {
    const float* qr = q + static_cast<size_t>(r) * ldq;
    float* p = probs + static_cast<size_t>(r) * static_cast<size_t>(len);
    const int visible = causal ? len - n + r + 1 : len;
    int t = 0;
    for (; t + 4 <= visible; t += 4) {
      const uint16_t* k0 = k + static_cast<size_t>(t) * ldkv;
      const uint16_t* k1 = k0 + ldkv;
      const uint16_t* k2 = k1 + ldkv;
      const uint16_t* k3 = k2 + ldkv;
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
      for (int j = 0; j < dh; j += 16) {
        const __m512 qv = _mm512_loadu_ps(qr + j);
        a0 = _mm512_fmadd_ps(qv, load_half16(k0 + j), a0);
        a1 = _mm512_fmadd_ps(qv, load_half16(k1 + j), a1);
        a2 = _mm512_fmadd_ps(qv, load_half16(k2 + j), a2);
        a3 = _mm512_fmadd_ps(qv, load_half16(k3 + j), a3);
      }
      _mm_storeu_ps(p + t, _mm_mul_ps(hsum4x16(a0, a1, a2, a3), _mm_set1_ps(scale)));
    }
    for (; t < visible; ++t) {
      const uint16_t* kt = k + static_cast<size_t>(t) * ldkv;
      __m512 a = _mm512_setzero_ps();
      for (int j = 0; j < dh; j += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(qr + j), load_half16(kt + j), a);
      p[t] = scale * hsum16(a);
    }
    softmax_row_avx2(p, visible);
    std::fill(p + visible, p + len, 0.0f);
    float* o = out + static_cast<size_t>(r) * ldo;
    if (dh == 64) {
      // Two keys per iteration into two sets of accumulators: eight
      // independent FMA chains.
      __m512 o0 = _mm512_setzero_ps(), o1 = _mm512_setzero_ps(), o2 = _mm512_setzero_ps(), o3 = _mm512_setzero_ps();
      __m512 u0 = _mm512_setzero_ps(), u1 = _mm512_setzero_ps(), u2 = _mm512_setzero_ps(), u3 = _mm512_setzero_ps();
      int tt = 0;
      for (; tt + 2 <= visible; tt += 2) {
        const uint16_t* vt = v + static_cast<size_t>(tt) * ldkv;
        const uint16_t* vu = vt + ldkv;
        const __m512 pv = _mm512_set1_ps(p[tt]);
        const __m512 pu = _mm512_set1_ps(p[tt + 1]);
        o0 = _mm512_fmadd_ps(pv, load_half16(vt), o0);
        o1 = _mm512_fmadd_ps(pv, load_half16(vt + 16), o1);
        o2 = _mm512_fmadd_ps(pv, load_half16(vt + 32), o2);
        o3 = _mm512_fmadd_ps(pv, load_half16(vt + 48), o3);
        u0 = _mm512_fmadd_ps(pu, load_half16(vu), u0);
        u1 = _mm512_fmadd_ps(pu, load_half16(vu + 16), u1);
        u2 = _mm512_fmadd_ps(pu, load_half16(vu + 32), u2);
        u3 = _mm512_fmadd_ps(pu, load_half16(vu + 48), u3);
      }
      if (tt < visible) {
        const uint16_t* vt = v + static_cast<size_t>(tt) * ldkv;
        const __m512 pv = _mm512_set1_ps(p[tt]);
        o0 = _mm512_fmadd_ps(pv, load_half16(vt), o0);
        o1 = _mm512_fmadd_ps(pv, load_half16(vt + 16), o1);
        o2 = _mm512_fmadd_ps(pv, load_half16(vt + 32), o2);
        o3 = _mm512_fmadd_ps(pv, load_half16(vt + 48), o3);
      }
      _mm512_storeu_ps(o, _mm512_add_ps(o0, u0));
      _mm512_storeu_ps(o + 16, _mm512_add_ps(o1, u1));
      _mm512_storeu_ps(o + 32, _mm512_add_ps(o2, u2));
      _mm512_storeu_ps(o + 48, _mm512_add_ps(o3, u3));
    } else {
      std::fill(o, o + dh, 0.0f);
      for (int tt = 0; tt < visible; ++tt) {
        const uint16_t* vt = v + static_cast<size_t>(tt) * ldkv;
        const __m512 pv = _mm512_set1_ps(p[tt]);
        for (int j = 0; j < dh; j += 16) {
          _mm512_storeu_ps(o + j, _mm512_fmadd_ps(pv, load_half16(vt + j), _mm512_loadu_ps(o + j)));
        }
      }
    }
  }
}

// attention_heads_f16 for dh % 16 == 0: one sweep over whole key rows and
// one over whole value rows for all the heads, so memory is read in order
// (per head, a row is a strided eighth of it).
__attribute__((target("avx512f,avx2,fma,f16c"))) void attention_heads_f16_avx512(
    const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len, int heads, int dh,
    float scale, bool causal, float* out, size_t ldo, float* probs) {
  const size_t plane = static_cast<size_t>(n) * static_cast<size_t>(len);  // one head's probabilities
  for (int r = 0; r < n; ++r) {
    const float* qr = q + static_cast<size_t>(r) * ldq;
    const int visible = causal ? len - n + r + 1 : len;
    auto prob = [&](int h) { return probs + static_cast<size_t>(h) * plane + static_cast<size_t>(r) * static_cast<size_t>(len); };
    int t = 0;
    for (; t + 4 <= visible; t += 4) {
      const uint16_t* k0 = k + static_cast<size_t>(t) * ldkv;
      for (int h = 0; h < heads; ++h) {
        const size_t off = static_cast<size_t>(h) * static_cast<size_t>(dh);
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (int j = 0; j < dh; j += 16) {
          const __m512 qv = _mm512_loadu_ps(qr + off + j);
          a0 = _mm512_fmadd_ps(qv, load_half16(k0 + off + j), a0);
          a1 = _mm512_fmadd_ps(qv, load_half16(k0 + ldkv + off + j), a1);
          a2 = _mm512_fmadd_ps(qv, load_half16(k0 + 2 * ldkv + off + j), a2);
          a3 = _mm512_fmadd_ps(qv, load_half16(k0 + 3 * ldkv + off + j), a3);
        }
        _mm_storeu_ps(prob(h) + t, _mm_mul_ps(hsum4x16(a0, a1, a2, a3), _mm_set1_ps(scale)));
      }
    }
    for (; t < visible; ++t) {
      const uint16_t* kt = k + static_cast<size_t>(t) * ldkv;
      for (int h = 0; h < heads; ++h) {
        const size_t off = static_cast<size_t>(h) * static_cast<size_t>(dh);
        __m512 a = _mm512_setzero_ps();
        for (int j = 0; j < dh; j += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(qr + off + j), load_half16(kt + off + j), a);
        prob(h)[t] = scale * hsum16(a);
      }
    }
    for (int h = 0; h < heads; ++h) {
      softmax_row_avx2(prob(h), visible);
      std::fill(prob(h) + visible, prob(h) + len, 0.0f);
    }
    // The output row (heads x dh floats, in L1) accumulates two keys per
    // pass over it.
    float* o = out + static_cast<size_t>(r) * ldo;
    const int width = heads * dh;
    std::fill(o, o + width, 0.0f);
    int tt = 0;
    for (; tt + 2 <= visible; tt += 2) {
      const uint16_t* vt = v + static_cast<size_t>(tt) * ldkv;
      for (int h = 0; h < heads; ++h) {
        const size_t off = static_cast<size_t>(h) * static_cast<size_t>(dh);
        const __m512 p0 = _mm512_set1_ps(prob(h)[tt]);
        const __m512 p1 = _mm512_set1_ps(prob(h)[tt + 1]);
        for (int j = 0; j < dh; j += 16) {
          __m512 acc = _mm512_loadu_ps(o + off + j);
          acc = _mm512_fmadd_ps(p0, load_half16(vt + off + j), acc);
          acc = _mm512_fmadd_ps(p1, load_half16(vt + ldkv + off + j), acc);
          _mm512_storeu_ps(o + off + j, acc);
        }
      }
    }
    if (tt < visible) {
      const uint16_t* vt = v + static_cast<size_t>(tt) * ldkv;
      for (int h = 0; h < heads; ++h) {
        const size_t off = static_cast<size_t>(h) * static_cast<size_t>(dh);
        const __m512 p0 = _mm512_set1_ps(prob(h)[tt]);
        for (int j = 0; j < dh; j += 16) {
          _mm512_storeu_ps(o + off + j, _mm512_fmadd_ps(p0, load_half16(vt + off + j), _mm512_loadu_ps(o + off + j)));
        }
      }
    }
  }
}

}  // namespace

void floats_to_half(const float* x, uint16_t* y, size_t n) {
  if (have_f16c()) {
    floats_to_half_f16c(x, y, n);
    return;
  }
  for (size_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}

namespace {
__attribute__((target("avx2,fma,f16c"))) void halfs_to_float_f16c(const uint16_t* x, float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_half8(x + i));
  for (; i < n; ++i) y[i] = half_to_float(x[i]);
}
}  // namespace

void halfs_to_float(const uint16_t* x, float* y, size_t n) {
  if (have_f16c()) {
    halfs_to_float_f16c(x, y, n);
    return;
  }
  for (size_t i = 0; i < n; ++i) y[i] = half_to_float(x[i]);
}

void attention_rows_f16(const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len,
                        int dh, float scale, bool causal, float* out, size_t ldo, float* probs) {
  if (have_avx512() && dh % 16 == 0) {
    attention_rows_f16_avx512(q, ldq, k, v, ldkv, n, len, dh, scale, causal, out, ldo, probs);
    return;
  }
  if (have_f16c() && dh % 8 == 0) {
    attention_rows_avx2<uint16_t>(q, ldq, k, v, ldkv, n, len, dh, scale, causal, out, ldo, probs);
    return;
  }
  for (int r = 0; r < n; ++r) {
    const float* qr = q + static_cast<size_t>(r) * ldq;
    float* p = probs + static_cast<size_t>(r) * static_cast<size_t>(len);
    const int visible = causal ? len - n + r + 1 : len;
    for (int t = 0; t < visible; ++t) {
      const uint16_t* kt = k + static_cast<size_t>(t) * ldkv;
      float acc = 0.0f;
      for (int j = 0; j < dh; ++j) acc += qr[j] * half_to_float(kt[j]);
      p[t] = scale * acc;
    }
    softmax_rows(p, 1, visible, static_cast<size_t>(len));
    std::fill(p + visible, p + len, 0.0f);
    float* o = out + static_cast<size_t>(r) * ldo;
    std::fill(o, o + dh, 0.0f);
    for (int t = 0; t < visible; ++t) {
      const uint16_t* vt = v + static_cast<size_t>(t) * ldkv;
      for (int j = 0; j < dh; ++j) o[j] += p[t] * half_to_float(vt[j]);
    }
  }
}

void attention_rows(const float* q, size_t ldq, const float* k, const float* v, size_t ldkv, int n, int len, int dh,
                    float scale, bool causal, float* out, size_t ldo, float* probs) {
  if (have_f16c() && dh % 8 == 0) {
    attention_rows_avx2<float>(q, ldq, k, v, ldkv, n, len, dh, scale, causal, out, ldo, probs);
    return;
  }
  for (int r = 0; r < n; ++r) {
    const float* qr = q + static_cast<size_t>(r) * ldq;
    float* p = probs + static_cast<size_t>(r) * static_cast<size_t>(len);
    const int visible = causal ? len - n + r + 1 : len;
    for (int t = 0; t < visible; ++t) p[t] = scale * dot(qr, k + static_cast<size_t>(t) * ldkv, dh);
    softmax_rows(p, 1, visible, static_cast<size_t>(len));
    std::fill(p + visible, p + len, 0.0f);
    float* o = out + static_cast<size_t>(r) * ldo;
    std::fill(o, o + dh, 0.0f);
    for (int t = 0; t < visible; ++t) axpy(p[t], v + static_cast<size_t>(t) * ldkv, o, dh);
  }
}

void attention_heads_f16(const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len,
                         int heads, int dh, float scale, bool causal, float* out, size_t ldo, float* probs) {
  if (have_avx512() && dh % 16 == 0) {
    attention_heads_f16_avx512(q, ldq, k, v, ldkv, n, len, heads, dh, scale, causal, out, ldo, probs);
    return;
  }
  for (int h = 0; h < heads; ++h) {
    const size_t off = static_cast<size_t>(h) * static_cast<size_t>(dh);
    attention_rows_f16(q + off, ldq, k + off, v + off, ldkv, n, len, dh, scale, causal, out + off, ldo,
                       probs + static_cast<size_t>(h) * static_cast<size_t>(n) * static_cast<size_t>(len));
  }
}

bool fast_f16() { return have_f16c(); }

void gemm_f16(const float* x, int rows, int k, const uint16_t* w, int n0, int n1, float* y, size_t ldy,
              bool accumulate) {
  if (have_f16c()) {
    if (rows == 1 && have_avx512()) {
      gemv_f16_avx512(x, k, w, n0, n1, y, accumulate);
    } else if (rows == 1) {
      gemv_avx2<uint16_t>(x, k, w, n0, n1, y, accumulate);
    } else {
      gemm_rows_avx2<uint16_t>(x, rows, k, w, n0, n1, y, ldy, accumulate);
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * static_cast<size_t>(k);
    for (int n = n0; n < n1; ++n) {
      const uint16_t* wn = w + static_cast<size_t>(n) * static_cast<size_t>(k);
      float sum = 0.0f;
      for (int j = 0; j < k; ++j) sum += half_to_float(wn[j]) * xr[j];
      float* dst = y + static_cast<size_t>(r) * ldy + static_cast<size_t>(n);
      *dst = accumulate ? *dst + sum : sum;
    }
  }
}

void gemm_f32(const float* x, int rows, int k, const float* w, int n0, int n1, float* y, size_t ldy, bool accumulate) {
  if (have_f16c()) {
    if (rows == 1) {
      gemv_avx2<float>(x, k, w, n0, n1, y, accumulate);
    } else {
      gemm_rows_avx2<float>(x, rows, k, w, n0, n1, y, ldy, accumulate);
    }
    return;
  }
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * static_cast<size_t>(k);
    for (int n = n0; n < n1; ++n) {
      const float* wn = w + static_cast<size_t>(n) * static_cast<size_t>(k);
      float sum = 0.0f;
      for (int j = 0; j < k; ++j) sum += wn[j] * xr[j];
      float* dst = y + static_cast<size_t>(r) * ldy + static_cast<size_t>(n);
      *dst = accumulate ? *dst + sum : sum;
    }
  }
}

void softmax_rows(float* x, int rows, int n, size_t stride) {
  if (n <= 0) return;
  const bool avx2 = have_avx2();
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<size_t>(r) * stride;
    // A row that is entirely masked cannot occur (a token always sees
    // itself), but the exp of -inf - -inf would be NaN; keep it finite.
    if (avx2) {
      softmax_row_avx2(row, n);
    } else {
      softmax_row_portable(row, n);
    }
  }
}

namespace {

// GELU over 8 floats with erf from Abramowitz & Stegun 7.1.26 (absolute
// error below 1.5e-7, the size of f32 rounding near 1). For z < 0 the
// term 1 + erf(z) is formed as P(t) e^{-z^2} directly, without the
// cancellation of 1 - (1 - ...).
__attribute__((target("avx2,fma"))) void gelu_avx2(float* x, size_t n) {
  const __m256 inv_sqrt2 = _mm256_set1_ps(0.70710678118654752f);
  const __m256 p = _mm256_set1_ps(0.3275911f);
  const __m256 a1 = _mm256_set1_ps(0.254829592f), a2 = _mm256_set1_ps(-0.284496736f),
               a3 = _mm256_set1_ps(1.421413741f), a4 = _mm256_set1_ps(-1.453152027f),
               a5 = _mm256_set1_ps(1.061405429f);
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 z = _mm256_mul_ps(v, inv_sqrt2);
    const __m256 az = _mm256_andnot_ps(sign_mask, z);
    const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(p, az, one));
    __m256 poly = _mm256_fmadd_ps(a5, t, a4);
    poly = _mm256_fmadd_ps(poly, t, a3);
    poly = _mm256_fmadd_ps(poly, t, a2);
    poly = _mm256_fmadd_ps(poly, t, a1);
    poly = _mm256_mul_ps(poly, t);
    const __m256 tail = _mm256_mul_ps(poly, exp8(_mm256_mul_ps(_mm256_xor_ps(az, sign_mask), az)));
    // 1 + erf(z): 2 - tail for z >= 0, tail for z < 0.
    const __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 one_plus_erf = _mm256_blendv_ps(_mm256_sub_ps(two, tail), tail, neg);
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), one_plus_erf));
  }
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for (; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}

}  // namespace

void gelu(float* x, size_t n) {
  if (have_avx2()) {
    gelu_avx2(x, n);
    return;
  }
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * kInvSqrt2));
}

void layer_norm(const float* x, float* y, int rows, int d, const float* w, const float* b) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * static_cast<size_t>(d);
    float* yr = y + static_cast<size_t>(r) * static_cast<size_t>(d);
    float mean = 0.0f;
    for (int i = 0; i < d; ++i) mean += xr[i];
    mean /= static_cast<float>(d);
    float var = 0.0f;
    for (int i = 0; i < d; ++i) {
      const float c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<float>(d);
    const float inv = 1.0f / std::sqrt(var + 1e-5f);
    for (int i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
  }
}

}  // namespace sf::asr::whisper::cpu
