#include "asr/whisper/cuda/kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>

namespace sf::asr::whisper::cuda {
namespace {

template <typename T>
__device__ __forceinline__ float to_f(T v);
template <>
__device__ __forceinline__ float to_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_f<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <typename T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

__device__ __forceinline__ float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

constexpr int kThreads = 256;

// Grid-stride loops: enough blocks to fill any GPU, never past gridDim's
// limit.
unsigned blocks_for(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<size_t>(1, std::min<size_t>(b, 1u << 16)));
}

#define SF_GRID_STRIDE(i, n) \
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<size_t>(gridDim.x) * blockDim.x)

// Runs `body` with T bound to the storage type of `t`.
#define SF_DISPATCH_TYPE(t, ...)        \
  switch (t) {                          \
    case DType::kF32: {                 \
      using T = float;                  \
      __VA_ARGS__;                      \
      break;                            \
    }                                   \
    case DType::kF16: {                 \
      using T = __half;                 \
      __VA_ARGS__;                      \
      break;                            \
    }                                   \
    case DType::kBF16: {                \
      using T = __nv_bfloat16;          \
      __VA_ARGS__;                      \
      break;                            \
    }                                   \
  }

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum / max over the block, returned to every thread. REQUIRES: blockDim.x
// a multiple of 32, every thread of the block calls it.
__device__ float block_sum(float v) {
  __shared__ float part[32];
  __shared__ float total;
  v = warp_sum(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // part[] may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < static_cast<int>(blockDim.x / 32) ? part[lane] : 0.0f;
    s = warp_sum(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}
__device__ float block_max(float v) {
  __shared__ float part[32];
  __shared__ float total;
  v = warp_max(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < static_cast<int>(blockDim.x / 32) ? part[lane] : -INFINITY;
    s = warp_max(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

template <typename T>
__global__ void convert_kernel(const float* __restrict__ src, T* __restrict__ dst, size_t n) {
  SF_GRID_STRIDE(i, n) dst[i] = from_f<T>(src[i]);
}

template <typename T>
__global__ void im2col_conv1_kernel(const float* __restrict__ mel, T* __restrict__ cols, int n_mels, int n_frames,
                                    size_t total) {
  const size_t width = static_cast<size_t>(n_mels) * 3;
  SF_GRID_STRIDE(i, total) {
    const size_t row = i / width;
    const int col = static_cast<int>(i % width);
    const size_t b = row / static_cast<size_t>(n_frames);
    const int t = static_cast<int>(row % static_cast<size_t>(n_frames));
    const int c = col / 3, src_t = t + col % 3 - 1;
    const float v = (src_t >= 0 && src_t < n_frames)
                        ? mel[(b * static_cast<size_t>(n_mels) + static_cast<size_t>(c)) * static_cast<size_t>(n_frames) +
                              static_cast<size_t>(src_t)]
                        : 0.0f;
    cols[i] = from_f<T>(v);
  }
}

template <typename T>
__global__ void im2col_conv2_kernel(const T* __restrict__ in, T* __restrict__ cols, int d, int n_in, int n_out,
                                    size_t total) {
  const size_t width = static_cast<size_t>(d) * 3;
  SF_GRID_STRIDE(i, total) {
    const size_t row = i / width;
    const int col = static_cast<int>(i % width);
    const size_t b = row / static_cast<size_t>(n_out);
    const int t = static_cast<int>(row % static_cast<size_t>(n_out));
    const int c = col / 3, src_t = 2 * t + col % 3 - 1;
    cols[i] = (src_t >= 0 && src_t < n_in)
                  ? in[(b * static_cast<size_t>(n_in) + static_cast<size_t>(src_t)) * static_cast<size_t>(d) +
                       static_cast<size_t>(c)]
                  : from_f<T>(0.0f);
  }
}

template <typename T>
__global__ void bias_gelu_kernel(const float* __restrict__ y, const float* __restrict__ bias, T* __restrict__ out,
                                 int cols, size_t total) {
  SF_GRID_STRIDE(i, total) out[i] = from_f<T>(gelu(y[i] + bias[i % static_cast<size_t>(cols)]));
}

__global__ void bias_gelu_pos_kernel(const float* __restrict__ y, const float* __restrict__ bias,
                                     const float* __restrict__ pos, float* __restrict__ x, int n_ctx, int d,
                                     size_t total) {
  SF_GRID_STRIDE(i, total) {
    const size_t row = i / static_cast<size_t>(d);
    const size_t col = i % static_cast<size_t>(d);
    const size_t t = row % static_cast<size_t>(n_ctx);
    x[i] = gelu(y[i] + bias[col]) + pos[t * static_cast<size_t>(d) + col];
  }
}

__global__ void bias_residual_kernel(const float* __restrict__ y, const float* __restrict__ bias,
                                     float* __restrict__ x, int cols, size_t total) {
  SF_GRID_STRIDE(i, total) x[i] += y[i] + bias[i % static_cast<size_t>(cols)];
}

__global__ void add_bias_kernel(float* __restrict__ y, const float* __restrict__ bias, int cols, size_t total) {
  SF_GRID_STRIDE(i, total) y[i] += bias[i % static_cast<size_t>(cols)];
}

template <typename T>
__global__ void layer_norm_kernel(const float* __restrict__ x, const float* __restrict__ g,
                                  const float* __restrict__ b, T* __restrict__ out, int cols) {
  const float* xr = x + static_cast<size_t>(blockIdx.x) * static_cast<size_t>(cols);
  T* o = out + static_cast<size_t>(blockIdx.x) * static_cast<size_t>(cols);
  float s = 0.0f;
  for (int i = static_cast<int>(threadIdx.x); i < cols; i += static_cast<int>(blockDim.x)) s += xr[i];
  const float mean = block_sum(s) / static_cast<float>(cols);
  float v = 0.0f;
  for (int i = static_cast<int>(threadIdx.x); i < cols; i += static_cast<int>(blockDim.x)) {
    const float dv = xr[i] - mean;
    v += dv * dv;
  }
  const float rstd = rsqrtf(block_sum(v) / static_cast<float>(cols) + 1e-5f);
  for (int i = static_cast<int>(threadIdx.x); i < cols; i += static_cast<int>(blockDim.x)) {
    o[i] = from_f<T>((xr[i] - mean) * rstd * g[i] + b[i]);
  }
}

// One thread per query, keys and values streamed through shared memory in
// tiles, an online softmax (running max and sum) so no score matrix is
// stored: reads q k v once per block of 64 queries.
template <typename T, int D>
__global__ void __launch_bounds__(64) encoder_attention_kernel(const float* __restrict__ qkv, T* __restrict__ out,
                                                                int n_ctx, int d, float scale) {
  constexpr int kTile = D <= 64 ? 64 : 32;
  __shared__ float ks[kTile][D];
  __shared__ float vs[kTile][D];
  const int b = static_cast<int>(blockIdx.z), h = static_cast<int>(blockIdx.y);
  const int t = static_cast<int>(blockIdx.x) * 64 + static_cast<int>(threadIdx.x);
  const size_t ld = 3 * static_cast<size_t>(d);
  const float* base = qkv + static_cast<size_t>(b) * static_cast<size_t>(n_ctx) * ld +
                      static_cast<size_t>(h) * D;
  const bool active = t < n_ctx;
  float q[D], acc[D];
#pragma unroll
  for (int i = 0; i < D; ++i) {
    q[i] = active ? base[static_cast<size_t>(t) * ld + static_cast<size_t>(i)] * scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  for (int j0 = 0; j0 < n_ctx; j0 += kTile) {
    const int nj = min(kTile, n_ctx - j0);
    __syncthreads();
    for (int e = static_cast<int>(threadIdx.x); e < nj * D; e += 64) {
      const int jj = e / D, i = e % D;
      const float* r = base + static_cast<size_t>(j0 + jj) * ld + static_cast<size_t>(i);
      ks[jj][i] = r[d];
      vs[jj][i] = r[2 * static_cast<size_t>(d)];
    }
    __syncthreads();
    if (!active) continue;
    for (int jj = 0; jj < nj; ++jj) {
      float s = 0.0f;
#pragma unroll
      for (int i = 0; i < D; ++i) s += q[i] * ks[jj][i];
      if (s > m) {
        const float c = expf(m - s);
        l *= c;
#pragma unroll
        for (int i = 0; i < D; ++i) acc[i] *= c;
        m = s;
      }
      const float p = expf(s - m);
      l += p;
#pragma unroll
      for (int i = 0; i < D; ++i) acc[i] += p * vs[jj][i];
    }
  }
  if (!active) return;
  T* o = out + (static_cast<size_t>(b) * static_cast<size_t>(n_ctx) + static_cast<size_t>(t)) * static_cast<size_t>(d) +
         static_cast<size_t>(h) * D;
  const float inv = 1.0f / l;
#pragma unroll
  for (int i = 0; i < D; ++i) o[i] = from_f<T>(acc[i] * inv);
}

constexpr int kDecoderThreads = 128;

// One block per (query row, head): the scores of all keys in shared memory
// (a warp per key, lanes across the head's dimensions, so every key row is
// read coalesced), one softmax, then the weighted sum of values with the
// threads split across dimensions and key ranges.
template <typename T>
__global__ void __launch_bounds__(kDecoderThreads)
    decoder_attention_kernel(const float* __restrict__ q, int q_stride, const T* __restrict__ k,
                             const T* __restrict__ v, const int32_t* __restrict__ kv_index,
                             const int32_t* __restrict__ n_keys_row, int n_keys_fixed, int kv_rows, int rows, int d,
                             int dh, float scale, T* __restrict__ out, float* __restrict__ probs,
                             const int32_t* __restrict__ collect, int probs_stride) {
  extern __shared__ float smem[];
  float* qs = smem;                          // dh
  float* red = qs + 128;                     // kDecoderThreads
  float* sc = red + kDecoderThreads;         // kv_rows
  const int row = static_cast<int>(blockIdx.x), h = static_cast<int>(blockIdx.y);
  const int tid = static_cast<int>(threadIdx.x);
  const int n_keys = n_keys_row != nullptr ? n_keys_row[row] : n_keys_fixed;
  const size_t head_off = static_cast<size_t>(h) * static_cast<size_t>(dh);
  const size_t cache_off = static_cast<size_t>(kv_index[row]) * static_cast<size_t>(kv_rows) * static_cast<size_t>(d);
  const T* kb = k + cache_off + head_off;
  const T* vb = v + cache_off + head_off;
  for (int i = tid; i < dh; i += kDecoderThreads) {
    qs[i] = q[static_cast<size_t>(row) * static_cast<size_t>(q_stride) + head_off + static_cast<size_t>(i)] * scale;
  }
  __syncthreads();
  const int lane = tid % 32, warp = tid / 32;
  for (int j = warp; j < n_keys; j += kDecoderThreads / 32) {
    const T* kr = kb + static_cast<size_t>(j) * static_cast<size_t>(d);
    float s = 0.0f;
    for (int i = lane; i < dh; i += 32) s += qs[i] * to_f(kr[i]);
    s = warp_sum(s);
    if (lane == 0) sc[j] = s;
  }
  __syncthreads();
  float mx = -INFINITY;
  for (int j = tid; j < n_keys; j += kDecoderThreads) mx = fmaxf(mx, sc[j]);
  mx = block_max(mx);
  float sum = 0.0f;
  for (int j = tid; j < n_keys; j += kDecoderThreads) {
    const float e = expf(sc[j] - mx);
    sc[j] = e;
    sum += e;
  }
  const float inv = 1.0f / block_sum(sum);  // block_sum synchronizes: sc[] complete
  if (probs != nullptr && collect[h] >= 0) {
    float* p = probs + (static_cast<size_t>(collect[h]) * static_cast<size_t>(rows) + static_cast<size_t>(row)) *
                           static_cast<size_t>(probs_stride);
    for (int j = tid; j < n_keys; j += kDecoderThreads) p[j] = sc[j] * inv;
  }
  const int parts = kDecoderThreads / dh;
  const int dim = tid % dh, part = tid / dh;
  if (part < parts) {
    float acc = 0.0f;
    for (int j = part; j < n_keys; j += parts) acc += sc[j] * to_f(vb[static_cast<size_t>(j) * static_cast<size_t>(d) + static_cast<size_t>(dim)]);
    red[part * dh + dim] = acc;
  }
  __syncthreads();
  if (tid < dh) {
    float acc = 0.0f;
    for (int p = 0; p < parts; ++p) acc += red[p * dh + tid];
    out[static_cast<size_t>(row) * static_cast<size_t>(d) + head_off + static_cast<size_t>(tid)] = from_f<T>(acc * inv);
  }
}

template <typename T>
__global__ void scatter_cross_kv_kernel(const float* __restrict__ y, const float* __restrict__ v_bias,
                                        T* __restrict__ k_out, T* __restrict__ v_out, int d, size_t total) {
  SF_GRID_STRIDE(i, total) {
    const size_t r = i / static_cast<size_t>(d), c = i % static_cast<size_t>(d);
    const float* yr = y + r * 2 * static_cast<size_t>(d);
    k_out[i] = from_f<T>(yr[c]);
    v_out[i] = from_f<T>(yr[static_cast<size_t>(d) + c] + v_bias[c]);
  }
}

__global__ void embed_kernel(const int32_t* __restrict__ tokens, const int32_t* __restrict__ positions,
                             const float* __restrict__ tok_emb, const float* __restrict__ pos_emb,
                             float* __restrict__ x, int d, size_t total) {
  SF_GRID_STRIDE(i, total) {
    const size_t r = i / static_cast<size_t>(d), c = i % static_cast<size_t>(d);
    x[i] = tok_emb[static_cast<size_t>(tokens[r]) * static_cast<size_t>(d) + c] +
           pos_emb[static_cast<size_t>(positions[r]) * static_cast<size_t>(d) + c];
  }
}

template <typename T>
__global__ void store_self_kv_kernel(const float* __restrict__ qkv, const int32_t* __restrict__ slot,
                                     const int32_t* __restrict__ pos, T* __restrict__ kc, T* __restrict__ vc, int d,
                                     int n_text_ctx, size_t total) {
  SF_GRID_STRIDE(i, total) {
    const size_t r = i / static_cast<size_t>(d), c = i % static_cast<size_t>(d);
    const size_t dst =
        (static_cast<size_t>(slot[r]) * static_cast<size_t>(n_text_ctx) + static_cast<size_t>(pos[r])) *
            static_cast<size_t>(d) + c;
    const float* src = qkv + r * 3 * static_cast<size_t>(d);
    kc[dst] = from_f<T>(src[static_cast<size_t>(d) + c]);
    vc[dst] = from_f<T>(src[2 * static_cast<size_t>(d) + c]);
  }
}

template <typename T>
__global__ void gather_rows_kernel(const T* __restrict__ src, T* __restrict__ dst, const int32_t* __restrict__ index,
                                   int cols, size_t total) {
  SF_GRID_STRIDE(i, total) {
    const size_t r = i / static_cast<size_t>(cols), c = i % static_cast<size_t>(cols);
    dst[i] = src[static_cast<size_t>(index[r]) * static_cast<size_t>(cols) + c];
  }
}

template <typename T>
cudaError_t launch_encoder_attention(const float* qkv, T* out, int batch, int n_ctx, int n_head, int d_head,
                                     cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((n_ctx + 63) / 64), static_cast<unsigned>(n_head), static_cast<unsigned>(batch));
  const int d = n_head * d_head;
  const float scale = 1.0f / sqrtf(static_cast<float>(d_head));
  switch (d_head) {
    case 8: encoder_attention_kernel<T, 8><<<grid, 64, 0, stream>>>(qkv, out, n_ctx, d, scale); break;
    case 16: encoder_attention_kernel<T, 16><<<grid, 64, 0, stream>>>(qkv, out, n_ctx, d, scale); break;
    case 32: encoder_attention_kernel<T, 32><<<grid, 64, 0, stream>>>(qkv, out, n_ctx, d, scale); break;
    case 64: encoder_attention_kernel<T, 64><<<grid, 64, 0, stream>>>(qkv, out, n_ctx, d, scale); break;
    case 128: encoder_attention_kernel<T, 128><<<grid, 64, 0, stream>>>(qkv, out, n_ctx, d, scale); break;
    default: return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

size_t dtype_size(DType t) { return t == DType::kF32 ? 4 : 2; }

bool attention_head_size_supported(int d_head) {
  return d_head == 8 || d_head == 16 || d_head == 32 || d_head == 64 || d_head == 128;
}

cudaError_t convert_f32(const float* src, void* dst, DType t, size_t n, cudaStream_t stream) {
  SF_DISPATCH_TYPE(t, convert_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(src, static_cast<T*>(dst), n));
  return cudaGetLastError();
}

cudaError_t im2col_conv1(const float* mel, void* cols, DType t, int batch, int n_mels, int n_frames,
                         cudaStream_t stream) {
  const size_t total = static_cast<size_t>(batch) * static_cast<size_t>(n_frames) * static_cast<size_t>(n_mels) * 3;
  SF_DISPATCH_TYPE(t, im2col_conv1_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                          mel, static_cast<T*>(cols), n_mels, n_frames, total));
  return cudaGetLastError();
}

cudaError_t im2col_conv2(const void* in, void* cols, DType t, int batch, int d, int n_in, int n_out,
                         cudaStream_t stream) {
  const size_t total = static_cast<size_t>(batch) * static_cast<size_t>(n_out) * static_cast<size_t>(d) * 3;
  SF_DISPATCH_TYPE(t, im2col_conv2_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                          static_cast<const T*>(in), static_cast<T*>(cols), d, n_in, n_out, total));
  return cudaGetLastError();
}

cudaError_t bias_gelu(const float* y, const float* bias, void* out, DType t, size_t rows, int cols,
                      cudaStream_t stream) {
  const size_t total = rows * static_cast<size_t>(cols);
  SF_DISPATCH_TYPE(t, bias_gelu_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(y, bias, static_cast<T*>(out),
                                                                                       cols, total));
  return cudaGetLastError();
}

cudaError_t bias_gelu_pos(const float* y, const float* bias, const float* pos, float* x, size_t rows, int n_ctx,
                          int d, cudaStream_t stream) {
  const size_t total = rows * static_cast<size_t>(d);
  bias_gelu_pos_kernel<<<blocks_for(total), kThreads, 0, stream>>>(y, bias, pos, x, n_ctx, d, total);
  return cudaGetLastError();
}

cudaError_t bias_residual(const float* y, const float* bias, float* x, size_t rows, int cols, cudaStream_t stream) {
  const size_t total = rows * static_cast<size_t>(cols);
  bias_residual_kernel<<<blocks_for(total), kThreads, 0, stream>>>(y, bias, x, cols, total);
  return cudaGetLastError();
}

cudaError_t add_bias(float* y, const float* bias, size_t rows, int cols, cudaStream_t stream) {
  const size_t total = rows * static_cast<size_t>(cols);
  add_bias_kernel<<<blocks_for(total), kThreads, 0, stream>>>(y, bias, cols, total);
  return cudaGetLastError();
}

cudaError_t layer_norm(const float* x, const float* g, const float* b, void* out, DType t, int rows, int cols,
                       cudaStream_t stream) {
  if (rows <= 0) return cudaSuccess;
  SF_DISPATCH_TYPE(t, layer_norm_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
                          x, g, b, static_cast<T*>(out), cols));
  return cudaGetLastError();
}

cudaError_t encoder_attention(const float* qkv, void* out, DType t, int batch, int n_ctx, int n_head, int d_head,
                              cudaStream_t stream) {
  SF_DISPATCH_TYPE(t, return launch_encoder_attention<T>(qkv, static_cast<T*>(out), batch, n_ctx, n_head, d_head,
                                                         stream));
  return cudaErrorInvalidValue;
}

cudaError_t decoder_attention(const float* q, int q_stride, const void* k, const void* v, DType t,
                              const int32_t* kv_index, const int32_t* n_keys_row, int n_keys_fixed, int kv_rows,
                              int rows, int n_head, int d_head, void* out, float* probs, const int32_t* collect,
                              int probs_stride, cudaStream_t stream) {
  if (d_head > 128 || d_head < 1) return cudaErrorInvalidValue;
  if (rows <= 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(n_head));
  const size_t shared = (128 + kDecoderThreads + static_cast<size_t>(kv_rows)) * sizeof(float);
  const int d = n_head * d_head;
  const float scale = 1.0f / sqrtf(static_cast<float>(d_head));
  SF_DISPATCH_TYPE(t, decoder_attention_kernel<T><<<grid, kDecoderThreads, shared, stream>>>(
                          q, q_stride, static_cast<const T*>(k), static_cast<const T*>(v), kv_index, n_keys_row,
                          n_keys_fixed, kv_rows, rows, d, d_head, scale, static_cast<T*>(out), probs, collect,
                          probs_stride));
  return cudaGetLastError();
}

cudaError_t scatter_cross_kv(const float* y, const float* v_bias, void* k_out, void* v_out, DType t, size_t rows,
                             int d, cudaStream_t stream) {
  const size_t total = rows * static_cast<size_t>(d);
  SF_DISPATCH_TYPE(t, scatter_cross_kv_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                          y, v_bias, static_cast<T*>(k_out), static_cast<T*>(v_out), d, total));
  return cudaGetLastError();
}

cudaError_t embed(const int32_t* tokens, const int32_t* positions, const float* tok_emb, const float* pos_emb,
                  float* x, int rows, int d, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(rows) * static_cast<size_t>(d);
  embed_kernel<<<blocks_for(total), kThreads, 0, stream>>>(tokens, positions, tok_emb, pos_emb, x, d, total);
  return cudaGetLastError();
}

cudaError_t store_self_kv(const float* qkv, const int32_t* slot, const int32_t* pos, void* k_cache, void* v_cache,
                          DType t, int rows, int d, int n_text_ctx, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(rows) * static_cast<size_t>(d);
  SF_DISPATCH_TYPE(t, store_self_kv_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                          qkv, slot, pos, static_cast<T*>(k_cache), static_cast<T*>(v_cache), d, n_text_ctx, total));
  return cudaGetLastError();
}

cudaError_t gather_rows(const void* src, void* dst, DType t, const int32_t* index, int n, int cols,
                        cudaStream_t stream) {
  const size_t total = static_cast<size_t>(n) * static_cast<size_t>(cols);
  SF_DISPATCH_TYPE(t, gather_rows_kernel<T><<<blocks_for(total), kThreads, 0, stream>>>(
                          static_cast<const T*>(src), static_cast<T*>(dst), index, cols, total));
  return cudaGetLastError();
}

}  // namespace sf::asr::whisper::cuda
