// Element-wise kernels of the CPU backend: softmax, GELU, LayerNorm.
//
// Each picks an AVX2/FMA implementation at run time where the CPU has one
// and a portable one otherwise; both agree to float rounding (the AVX2 exp
// is accurate to about 2 ulp). Pure functions on caller-owned memory; safe
// to call from any thread on disjoint data.
#pragma once

#include <cstddef>

namespace sf::asr::whisper::cpu {

// In place, each of `rows` rows of length n (consecutive rows `stride`
// floats apart): x = exp(x - max) / sum. -INFINITY entries become 0.
void softmax_rows(float* x, int rows, int n, size_t stride);

// In place: x = 0.5 x (1 + erf(x / sqrt 2)), the exact GELU.
void gelu(float* x, size_t n);

// y = (x - mean) / sqrt(var + 1e-5) * w + b per row of width d (y may be x).
void layer_norm(const float* x, float* y, int rows, int d, const float* w, const float* b);

}  // namespace sf::asr::whisper::cpu
