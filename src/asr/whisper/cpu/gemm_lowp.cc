#include "asr/whisper/cpu/gemm_lowp.h"

#include <immintrin.h>

// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_*(),
// which -Wuninitialized reports wrongly once they are inlined here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sf::asr::whisper::cpu {

namespace {

size_t sz(long v) { return static_cast<size_t>(v); }

uint16_t bf16_round(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint32_t rounding = ((bits >> 16) & 1u) + 0x7fffu;
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

// Output-column masks for a panel's two 16-lane halves holding `cols` real
// columns (1..32).
inline __mmask16 lo_mask(int cols) { return cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1); }
inline __mmask16 hi_mask(int cols) {
  return cols >= 32 ? 0xffff : cols <= 16 ? 0 : static_cast<__mmask16>((1u << (cols - 16)) - 1);
}

// MR rows x one panel, over all k pairs.
template <int MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void kernel_bf16(
    const uint16_t* a, size_t lda, int kpairs, const uint16_t* panel, float* c, size_t ldc, float alpha,
    bool accumulate, int cols) {
  __m512 c0[MR];
  __m512 c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  const uint32_t* ar[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) ar[r] = reinterpret_cast<const uint32_t*>(a + sz(r) * lda);
  for (int kp = 0; kp < kpairs; ++kp) {
    const __m512bh b0 = __builtin_bit_cast(__m512bh, _mm512_loadu_si512(panel + sz(kp) * 64));
    const __m512bh b1 = __builtin_bit_cast(__m512bh, _mm512_loadu_si512(panel + sz(kp) * 64 + 32));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512bh av = __builtin_bit_cast(__m512bh, _mm512_set1_epi32(static_cast<int>(ar[r][kp])));
      c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __mmask16 m0 = lo_mask(cols);
  const __mmask16 m1 = hi_mask(cols);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* cr = c + sz(r) * ldc;
    __m512 v0 = _mm512_mul_ps(c0[r], va);
    __m512 v1 = _mm512_mul_ps(c1[r], va);
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

using KernelBf16 = void (*)(const uint16_t*, size_t, int, const uint16_t*, float*, size_t, float, bool, int);
constexpr KernelBf16 kBf16Kernels[] = {nullptr,          kernel_bf16<1>, kernel_bf16<2>, kernel_bf16<3>,
                                       kernel_bf16<4>,   kernel_bf16<5>, kernel_bf16<6>, kernel_bf16<7>,
                                       kernel_bf16<8>};
constexpr int kMr = 8;
// Rows per block: A's block (kBlockRows x k_pad bf16) stays in L2 while
// every panel of the caller's range passes over it.
constexpr int kBlockRows = 96;

template <int MR>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void kernel_int8(
    const uint8_t* a, size_t lda, const float* a_scales, int kquads, const int8_t* panel, const float* b_scales,
    const int32_t* col_sum, float* c, size_t ldc, float alpha, bool accumulate, int cols) {
  __m512i c0[MR];
  __m512i c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_si512();
  const uint32_t* ar[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) ar[r] = reinterpret_cast<const uint32_t*>(a + sz(r) * lda);
  for (int kq = 0; kq < kquads; ++kq) {
    const __m512i b0 = _mm512_loadu_si512(panel + sz(kq) * 128);
    const __m512i b1 = _mm512_loadu_si512(panel + sz(kq) * 128 + 64);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(ar[r][kq]));
      c0[r] = _mm512_dpbusd_epi32(c0[r], av, b0);
      c1[r] = _mm512_dpbusd_epi32(c1[r], av, b1);
    }
  }
  const __mmask16 m0 = lo_mask(cols);
  const __mmask16 m1 = hi_mask(cols);
  const __m512i off0 = _mm512_mullo_epi32(_mm512_loadu_si512(col_sum), _mm512_set1_epi32(128));
  const __m512i off1 = _mm512_mullo_epi32(_mm512_loadu_si512(col_sum + 16), _mm512_set1_epi32(128));
  const __m512 s0 = _mm512_loadu_ps(b_scales);
  const __m512 s1 = _mm512_loadu_ps(b_scales + 16);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* cr = c + sz(r) * ldc;
    const __m512 sa = _mm512_set1_ps(alpha * a_scales[r]);
    __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c0[r], off0)), _mm512_mul_ps(s0, sa));
    __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(c1[r], off1)), _mm512_mul_ps(s1, sa));
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

using KernelInt8 = void (*)(const uint8_t*, size_t, const float*, int, const int8_t*, const float*, const int32_t*,
                            float*, size_t, float, bool, int);
constexpr KernelInt8 kInt8Kernels[] = {nullptr,        kernel_int8<1>, kernel_int8<2>, kernel_int8<3>,
                                       kernel_int8<4>, kernel_int8<5>, kernel_int8<6>, kernel_int8<7>,
                                       kernel_int8<8>};

}  // namespace

void pack_bf16_nk(const float* w, int n, int k, size_t ld, PackedBf16* out) {
  out->n = n;
  out->k = k;
  out->k_pad = (k + 1) & ~1;
  const int kpairs = out->k_pad / 2;
  const int n_pad = out->panels() * kPanel;
  out->data.resize(sz(n_pad) * sz(out->k_pad));
  for (int col = 0; col < n_pad; ++col) {
    const int p = col / kPanel;
    const int j = col % kPanel;
    uint16_t* dst = out->data.data() + sz(p) * sz(kpairs) * kPanel * 2 + sz(j) * 2;
    if (col >= n) {
      for (int kk = 0; kk < out->k_pad; ++kk) dst[sz(kk / 2) * kPanel * 2 + sz(kk & 1)] = 0;
      continue;
    }
    const float* row = w + sz(col) * ld;
    for (int kk = 0; kk < k; ++kk) dst[sz(kk / 2) * kPanel * 2 + sz(kk & 1)] = bf16_round(row[kk]);
    if (k < out->k_pad) dst[sz(k / 2) * kPanel * 2 + 1] = 0;
  }
}

void pack_bf16_kn(const float* v, int k, int n, size_t ld, PackedBf16* out) {
  out->n = n;
  out->k = k;
  out->k_pad = (k + 1) & ~1;
  const int kpairs = out->k_pad / 2;
  const int n_pad = out->panels() * kPanel;
  out->data.resize(sz(n_pad) * sz(out->k_pad));
  for (int kk = 0; kk < out->k_pad; ++kk) {
    const float* row = kk < k ? v + sz(kk) * ld : nullptr;
    for (int col = 0; col < n_pad; ++col) {
      const int p = col / kPanel;
      const int j = col % kPanel;
      out->data[(sz(p) * sz(kpairs) + sz(kk / 2)) * kPanel * 2 + sz(j) * 2 + sz(kk & 1)] =
          row != nullptr && col < n ? bf16_round(row[col]) : 0;
    }
  }
}

namespace {
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void to_bf16_row_avx512(const float* x, int k,
                                                                                         uint16_t* y) {
  int j = 0;
  for (; j + 32 <= k; j += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + j + 16), _mm512_loadu_ps(x + j));
    _mm512_storeu_si512(y + j, __builtin_bit_cast(__m512i, v));
  }
  for (; j < k; ++j) y[j] = bf16_round(x[j]);
}
}  // namespace

namespace {

// exp for 16 floats, as kernels.cc's exp8: range reduction to
// [-ln2/2, ln2/2], a degree-6 polynomial, scaling by 2^n.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33654f)), _mm512_set1_ps(88.3762626647949f));
  __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
  fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, z, _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(y, fx);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void softmax_row_bf16(float* x, int n, uint16_t* y,
                                                                                       int k_pad) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  int j = 0;
  for (; j + 16 <= n; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + j));
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + j));
  }
  const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vm)));
    _mm512_mask_storeu_ps(x + j, m, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
  for (j = 0; j + 32 <= n; j += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_mul_ps(_mm512_loadu_ps(x + j + 16), inv),
                                           _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
    _mm512_storeu_si512(y + j, __builtin_bit_cast(__m512i, v));
  }
  const float invs = _mm512_cvtss_f32(inv);
  for (; j < n; ++j) y[j] = bf16_round(x[j] * invs);
  for (; j < k_pad; ++j) y[j] = 0;
}

}  // namespace

void softmax_rows_to_bf16(float* x, int rows, int n, size_t ldx, uint16_t* y, size_t ldy, int k_pad) {
  for (int r = 0; r < rows; ++r) softmax_row_bf16(x + sz(r) * ldx, n, y + sz(r) * ldy, k_pad);
}

void to_bf16_rows(const float* x, int rows, int k, size_t ldx, uint16_t* y, size_t ldy, int k_pad) {
  for (int r = 0; r < rows; ++r) {
    uint16_t* yr = y + sz(r) * ldy;
    to_bf16_row_avx512(x + sz(r) * ldx, k, yr);
    for (int j = k; j < k_pad; ++j) yr[j] = 0;
  }
}

void gemm_bf16(const uint16_t* a, size_t lda, int m0, int m1, const PackedBf16& b, int p0, int p1, float* c,
               size_t ldc, float alpha, bool accumulate) {
  const int kpairs = b.k_pad / 2;
  const size_t panel_size = sz(kpairs) * kPanel * 2;
  for (int mb = m0; mb < m1; mb += kBlockRows) {
    const int me = std::min(m1, mb + kBlockRows);
    for (int p = p0; p < p1; ++p) {
      const uint16_t* panel = b.data.data() + sz(p) * panel_size;
      const int cols = std::min(kPanel, b.n - p * kPanel);
      float* cp = c + sz(p) * kPanel;
      for (int r = mb; r < me; r += kMr) {
        const int mr = std::min(kMr, me - r);
        kBf16Kernels[mr](a + sz(r) * lda, lda, kpairs, panel, cp + sz(r) * ldc, ldc, alpha, accumulate, cols);
      }
    }
  }
}

void pack_int8_nk(const float* w, int n, int k, size_t ld, PackedInt8* out) {
  out->n = n;
  out->k = k;
  out->k_pad = (k + 3) & ~3;
  const int kquads = out->k_pad / 4;
  const int n_pad = out->panels() * kPanel;
  out->data.assign(sz(n_pad) * sz(out->k_pad), 0);
  out->scale.assign(sz(n_pad), 0.0f);
  out->col_sum.assign(sz(n_pad), 0);
  for (int col = 0; col < n; ++col) {
    const float* row = w + sz(col) * ld;
    float mx = 0.0f;
    for (int kk = 0; kk < k; ++kk) mx = std::max(mx, std::abs(row[kk]));
    const float s = mx > 0.0f ? mx / 127.0f : 1.0f;
    out->scale[sz(col)] = s;
    const int p = col / kPanel;
    const int j = col % kPanel;
    int8_t* dst = out->data.data() + sz(p) * sz(kquads) * kPanel * 4 + sz(j) * 4;
    int32_t sum = 0;
    for (int kk = 0; kk < k; ++kk) {
      const int q = static_cast<int>(std::lrint(row[kk] / s));
      const int8_t v = static_cast<int8_t>(std::clamp(q, -127, 127));
      dst[sz(kk / 4) * kPanel * 4 + sz(kk & 3)] = v;
      sum += v;
    }
    out->col_sum[sz(col)] = sum;
  }
}

namespace {
__attribute__((target("avx512f,avx512bw,avx512vl"))) void quantize_row_avx512(const float* x, int k, uint8_t* y,
                                                                               float* scale) {
  __m512 vmax = _mm512_setzero_ps();
  int j = 0;
  for (; j + 16 <= k; j += 16) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
  float mx = _mm512_reduce_max_ps(vmax);
  for (; j < k; ++j) mx = std::max(mx, std::abs(x[j]));
  const float s = mx > 0.0f ? mx / 127.0f : 1.0f;
  const float inv = 1.0f / s;
  const __m512 vinv = _mm512_set1_ps(inv);
  const __m512i bias = _mm512_set1_epi32(128);
  j = 0;
  for (; j + 16 <= k; j += 16) {
    // Round to nearest even (the default rounding mode), |q| <= 127 by the
    // choice of s, then offset into 1..255.
    const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + j), vinv)), bias);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + j), _mm512_cvtusepi32_epi8(q));
  }
  for (; j < k; ++j) {
    const int q = static_cast<int>(std::nearbyint(x[j] * inv));
    y[j] = static_cast<uint8_t>(std::clamp(q, -127, 127) + 128);
  }
  *scale = s;
}
}  // namespace

void quantize_rows_u8(const float* x, int rows, int k, size_t ldx, uint8_t* y, size_t ldy, int k_pad,
                      float* scales) {
  for (int r = 0; r < rows; ++r) {
    uint8_t* yr = y + sz(r) * ldy;
    quantize_row_avx512(x + sz(r) * ldx, k, yr, scales + r);
    for (int j = k; j < k_pad; ++j) yr[j] = 128;
  }
}

void gemm_int8(const uint8_t* a, size_t lda, const float* a_scales, int m0, int m1, const PackedInt8& b, int p0,
               int p1, float* c, size_t ldc, float alpha, bool accumulate) {
  const int kquads = b.k_pad / 4;
  const size_t panel_size = sz(kquads) * kPanel * 4;
  for (int mb = m0; mb < m1; mb += kBlockRows) {
    const int me = std::min(m1, mb + kBlockRows);
    for (int p = p0; p < p1; ++p) {
      const int8_t* panel = b.data.data() + sz(p) * panel_size;
      const int cols = std::min(kPanel, b.n - p * kPanel);
      float* cp = c + sz(p) * kPanel;
      for (int r = mb; r < me; r += kMr) {
        const int mr = std::min(kMr, me - r);
        kInt8Kernels[mr](a + sz(r) * lda, lda, a_scales + r, kquads, panel, b.scale.data() + sz(p) * kPanel,
                         b.col_sum.data() + sz(p) * kPanel, cp + sz(r) * ldc, ldc, alpha, accumulate, cols);
      }
    }
  }
}

}  // namespace sf::asr::whisper::cpu
