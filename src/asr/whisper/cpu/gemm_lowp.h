// Low-precision GEMMs of the CPU backend: bfloat16 (AVX-512 BF16) and int8
// (AVX-512 VNNI), for the encoder's many-row products.
//
// Both compute C[m, n] = alpha * sum_k A[m, k] * B[k, n] (+ C when
// accumulate), with f32 accumulation and f32 C. B is packed once (weights
// at model load, an attention head's keys/values per call) into panels of
// kPanel output columns; A is converted per call (to_bf16_rows /
// quantize_rows_u8).
//
// These kernels need AVX-512 (BF16 resp. VNNI); callers check
// cpu_features() (backend.h) first — calling them elsewhere is a
// programming error (SIGILL). Rounding: bf16 keeps 8 significant bits
// (relative error <= 2^-9 per value); int8 rounds each value to 1/127 of
// its row's largest magnitude.
//
// Thread-safety: pure functions on caller-owned memory; packed matrices are
// immutable after packing and may be shared by any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sf::asr::whisper::cpu {

inline constexpr int kPanel = 32;  // output columns per packed panel

// B for the bf16 GEMM: panels of kPanel columns; in each panel, for every
// pair of k, the kPanel columns' two values side by side. k is padded to
// an even count and n to whole panels with zeros.
struct PackedBf16 {
  int n = 0;
  int k = 0;      // as given
  int k_pad = 0;  // k rounded up to even
  std::vector<uint16_t> data;
  int panels() const { return (n + kPanel - 1) / kPanel; }
};

// From B^T stored row-major as [n][k] (a Linear weight [out, in]; keys
// [positions, head width]); rows `ld` floats apart.
void pack_bf16_nk(const float* w, int n, int k, size_t ld, PackedBf16* out);
// From B stored row-major as [k][n] (values [positions, head width]).
void pack_bf16_kn(const float* v, int k, int n, size_t ld, PackedBf16* out);

// A's rows in bf16 (round to nearest even), each padded with zeros to
// k_pad: y[r * ldy + j] for j < k_pad. REQUIRES ldy >= k_pad, k_pad even.
void to_bf16_rows(const float* x, int rows, int k, size_t ldx, uint16_t* y, size_t ldy, int k_pad);

// Row-wise softmax written as bf16 rows for the next GEMM: y_r =
// bf16(softmax(x_r)) padded with zeros to k_pad. x is scratch afterwards.
void softmax_rows_to_bf16(float* x, int rows, int n, size_t ldx, uint16_t* y, size_t ldy, int k_pad);

// C rows [m0, m1), panels [p0, p1) of B: A rows `lda` bf16 apart (k_pad
// values used), C rows `ldc` floats apart, only the n real columns written.
void gemm_bf16(const uint16_t* a, size_t lda, int m0, int m1, const PackedBf16& b, int p0, int p1, float* c,
               size_t ldc, float alpha, bool accumulate);

// B for the int8 GEMM: per output column n a scale s_n = max_k |B| / 127
// and values round(B / s_n) in [-127, 127]; panels of kPanel columns, for
// every 4 consecutive k the 4 values of a column side by side (k padded to
// a multiple of 4). col_sum[n] = sum_k q[k, n] (for the u8 offset).
struct PackedInt8 {
  int n = 0;
  int k = 0;
  int k_pad = 0;  // k rounded up to a multiple of 4
  std::vector<int8_t> data;
  std::vector<float> scale;    // per column (n_pad entries; 0 past n)
  std::vector<int32_t> col_sum;
  int panels() const { return (n + kPanel - 1) / kPanel; }
};

// From a Linear weight [n][k] (rows `ld` floats apart).
void pack_int8_nk(const float* w, int n, int k, size_t ld, PackedInt8* out);

// A's rows quantized for the int8 GEMM: y = round(x / s_r) + 128 as u8
// with s_r = max |x_r| / 127 (1 for an all-zero row), padded with the
// value 128 (zero) to k_pad; scales[r] = s_r.
void quantize_rows_u8(const float* x, int rows, int k, size_t ldx, uint8_t* y, size_t ldy, int k_pad,
                      float* scales);

// C rows [m0, m1), panels [p0, p1): C = alpha * s_r * s_n * (sum_k
// qa * qb - 128 * col_sum) (+ C when accumulate).
void gemm_int8(const uint8_t* a, size_t lda, const float* a_scales, int m0, int m1, const PackedInt8& b, int p0,
               int p1, float* c, size_t ldc, float alpha, bool accumulate);

}  // namespace sf::asr::whisper::cpu
