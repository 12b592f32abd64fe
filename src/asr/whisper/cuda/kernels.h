// The CUDA backend's own kernels (kernels.cu): everything of the Whisper
// forward pass that is not a GEMM (those run on cuBLAS, cuda_session.cc).
//
// Conventions: matrices are row-major, one row per position (time-major);
// "typed" buffers hold the compute type's storage (DType) and feed GEMMs or
// caches; the residual stream, GEMM outputs, biases and layer-norm
// parameters are f32. Every launcher only enqueues work on `stream` and
// returns the launch's error (cudaGetLastError()); errors of the kernels
// themselves surface at the next synchronizing call. No launcher allocates.
//
// Thread-safety: launchers are thread-safe; the buffers are the caller's.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace sf::asr::whisper::cuda {

// Storage of typed buffers: f32, IEEE half, bfloat16.
enum class DType { kF32, kF16, kBF16 };
size_t dtype_size(DType t);

// dst[i] = src[i] rounded to t (n elements).
cudaError_t convert_f32(const float* src, void* dst, DType t, size_t n, cudaStream_t stream);

// Conv1d (kernel 3, padding 1) as a GEMM: cols has one row per output
// frame, n_mels * 3 columns (channel-major, then tap), matching the weight
// [d, n_mels, 3] read as [d, n_mels * 3]. mel: batch x n_mels x n_frames.
cudaError_t im2col_conv1(const float* mel, void* cols, DType t, int batch, int n_mels, int n_frames,
                         cudaStream_t stream);
// The stride-2 conv2 likewise: in is typed [batch * n_in, d] (time-major),
// cols typed [batch * n_out, d * 3].
cudaError_t im2col_conv2(const void* in, void* cols, DType t, int batch, int d, int n_in, int n_out,
                         cudaStream_t stream);

// out = gelu(y + bias) (exact erf GELU), typed; y is rows x cols.
cudaError_t bias_gelu(const float* y, const float* bias, void* out, DType t, size_t rows, int cols,
                      cudaStream_t stream);
// x = gelu(y + bias) + pos[row % n_ctx] (the encoder front end's last step).
cudaError_t bias_gelu_pos(const float* y, const float* bias, const float* pos, float* x, size_t rows, int n_ctx,
                          int d, cudaStream_t stream);
// x += y + bias.
cudaError_t bias_residual(const float* y, const float* bias, float* x, size_t rows, int cols, cudaStream_t stream);
// y += bias.
cudaError_t add_bias(float* y, const float* bias, size_t rows, int cols, cudaStream_t stream);

// out = layer_norm(x) * g + b per row (eps 1e-5), out typed.
cudaError_t layer_norm(const float* x, const float* g, const float* b, void* out, DType t, int rows, int cols,
                       cudaStream_t stream);

// Head sizes the attention kernels take: 8, 16, 32, 64 (every real model)
// and 128.
bool attention_head_size_supported(int d_head);

// Encoder self-attention (no mask), flash style: softmax(q k^T / sqrt(dh)) v
// without materializing the n_ctx x n_ctx scores. qkv: f32
// [batch * n_ctx, 3d] holding q | k | v (bias added); out typed
// [batch * n_ctx, d].
cudaError_t encoder_attention(const float* qkv, void* out, DType t, int batch, int n_ctx, int n_head, int d_head,
                              cudaStream_t stream);

// Decoder attention of `rows` query rows over a cache. q: f32, row r at
// q + r * q_stride (heads side by side). k, v: typed caches of
// [index][kv_rows][d]; row r reads index kv_index[r] and its first
// n_keys_row[r] keys (or n_keys_fixed when n_keys_row is null; at most
// kv_rows). out typed [rows, d]. When probs is not null, heads with
// collect[h] >= 0 write their probabilities to
// probs[(collect[h] * rows + r) * probs_stride + key].
cudaError_t decoder_attention(const float* q, int q_stride, const void* k, const void* v, DType t,
                              const int32_t* kv_index, const int32_t* n_keys_row, int n_keys_fixed, int kv_rows,
                              int rows, int n_head, int d_head, void* out, float* probs, const int32_t* collect,
                              int probs_stride, cudaStream_t stream);

// Cross-attention keys/values of a window: y f32 [rows, 2d] = k | v (no
// bias yet); k_out = k, v_out = v + v_bias, both typed [rows, d].
cudaError_t scatter_cross_kv(const float* y, const float* v_bias, void* k_out, void* v_out, DType t, size_t rows,
                             int d, cudaStream_t stream);

// x[r] = tok_emb[tokens[r]] + pos_emb[positions[r]] (f32 tables).
cudaError_t embed(const int32_t* tokens, const int32_t* positions, const float* tok_emb, const float* pos_emb,
                  float* x, int rows, int d, cudaStream_t stream);

// Appends the k and v parts of qkv (f32 [rows, 3d]) to self-attention
// caches (typed [slots][n_text_ctx][d]) at (slot[r], pos[r]).
cudaError_t store_self_kv(const float* qkv, const int32_t* slot, const int32_t* pos, void* k_cache, void* v_cache,
                          DType t, int rows, int d, int n_text_ctx, cudaStream_t stream);

// dst[i] = src[index[i]] for n rows of `cols` typed elements.
cudaError_t gather_rows(const void* src, void* dst, DType t, const int32_t* index, int n, int cols,
                        cudaStream_t stream);

}  // namespace sf::asr::whisper::cuda
