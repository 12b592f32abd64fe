// Element-wise kernels of the CPU backend: softmax, GELU, LayerNorm.
//
// Each picks an AVX2/FMA implementation at run time where the CPU has one
// and a portable one otherwise; both agree to float rounding (the AVX2 exp
// is accurate to about 2 ulp). Pure functions on caller-owned memory; safe
// to call from any thread on disjoint data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sf::asr::whisper::cpu {

// In place, each of `rows` rows of length n (consecutive rows `stride`
// floats apart): x = exp(x - max) / sum. -INFINITY entries become 0.
void softmax_rows(float* x, int rows, int n, size_t stride);

// In place: x = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU.
void gelu(float* x, size_t n);

// y = (x - mean) / sqrt(var + 1e-5) * w + b per row of width d (y may be x).
void layer_norm(const float* x, float* y, int rows, int d, const float* w, const float* b);

// y[r * ldy + n] = sum_j x[r * k + j] * half(w[n * k + j]) for r < rows and
// n0 <= n < n1, where w holds IEEE half floats (a Linear weight [out, k]).
// With accumulate, adds to y instead. Accumulates in f32. Meant for few
// rows (decoding): it reads each weight once per 4 rows.
void gemm_f16(const float* x, int rows, int k, const uint16_t* w, int n0, int n1, float* y, size_t ldy,
              bool accumulate);

// Attention for a few query rows against `len` keys/values (one head):
// for each r < n, scores s_t = scale * q_r . k_t over the visible keys
// (t < len - n + r + 1 when causal, else t < len), p = softmax(s), and
// out_r = sum_t p_t v_t. Rows are `ldq` / `ldkv` / `ldo` floats apart;
// width dh. `probs` (n x len, caller-owned) receives p, zero past the
// visible keys.
void attention_rows(const float* q, size_t ldq, const float* k, const float* v, size_t ldkv, int n, int len, int dh,
                    float scale, bool causal, float* out, size_t ldo, float* probs);

// attention_rows() over keys/values stored as IEEE half floats.
void attention_rows_f16(const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len,
                        int dh, float scale, bool causal, float* out, size_t ldo, float* probs);

// attention_rows_f16() for `heads` consecutive heads (head h is the dh
// columns from h * dh of q, k, v and out); probs holds heads x n x len,
// head after head. Same results as one call per head, read in whole rows
// of the keys/values.
void attention_heads_f16(const float* q, size_t ldq, const uint16_t* k, const uint16_t* v, size_t ldkv, int n, int len,
                         int heads, int dh, float scale, bool causal, float* out, size_t ldo, float* probs);

// Conversions between float and IEEE half (round to nearest even).
void floats_to_half(const float* x, uint16_t* y, size_t n);
void halfs_to_float(const uint16_t* x, float* y, size_t n);

// gemm_f16 with f32 weights: for few rows it streams the weights once with
// enough independent FMA chains to run at memory bandwidth, where a general
// GEMM is several times slower.
void gemm_f32(const float* x, int rows, int k, const float* w, int n0, int n1, float* y, size_t ldy, bool accumulate);

// Whether gemm_f16 runs vectorized (AVX2 + F16C) on this CPU.
bool fast_f16();

}  // namespace sf::asr::whisper::cpu
