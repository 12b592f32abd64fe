#include "asr/whisper/cuda/cuda_session.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "asr/whisper/cuda/cuda_status.h"
#include "asr/whisper/cuda/device_weights.h"
#include "asr/whisper/cuda/kernels.h"

namespace sf::asr::whisper::cuda {
namespace {

size_t sz(int v) { return static_cast<size_t>(v); }

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

// Device memory that frees itself. Never copied.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  Status allocate(size_t bytes, const std::string& what, int device) {
    reset();
    if (bytes == 0) return {};
    if (cudaError_t e = cudaMalloc(&p_, bytes); e != cudaSuccess) {
      p_ = nullptr;
      (void)cudaGetLastError();
      if (e != cudaErrorMemoryAllocation) return cuda_status(e, "cudaMalloc");
      size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      return unavailable("out of GPU memory: " + what + " needs " + mib(bytes) + " on cuda:" + std::to_string(device) +
                         ", " + mib(free_b) + " free");
    }
    bytes_ = bytes;
    return {};
  }
  void reset() {
    if (p_ != nullptr) (void)cudaFree(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  size_t bytes() const { return bytes_; }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(p_);
  }
  char* at(size_t offset) const { return static_cast<char*>(p_) + offset; }

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace

class CudaSession final : public Session {
 public:
  CudaSession(std::shared_ptr<const Model> model, const SessionOptions& options, std::string fallback, DType type)
      : Session(std::move(model), options, std::move(fallback)), type_(type) {}
  ~CudaSession() override;

  Status init();

  Status encode(std::span<const float> mel, int batch) override;
  int encoded_batch() const override { return encoded_; }
  const float* encoder_output(int b) const override;
  Status decode(std::span<const DecodeItem> items, std::vector<float>* logits, bool all_logits = false) override;
  void copy_kv(int src_slot, int dst_slot, int n) override;
  void reset_kv(int slot) override;
  Status set_collect_cross_attention(std::vector<AlignmentHead> heads) override;
  std::span<const float> cross_attention(int item) const override;

 private:
  // y[rows, out] (f32) = x[rows, in] (typed) * w[out, in]^T (typed).
  Status gemm(const void* x, const void* w, float* y, int rows, int out, int in);
  Status encode_chunk(const float* mel, int b0, int nb);
  Status ensure_decode_capacity(int rows);
  char* typed(const DeviceBuffer& b, size_t elements) const { return b.at(elements * dtype_size(type_)); }

  const DType type_;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::shared_ptr<const DeviceWeights> w_;
  int chunk_ = 1;  // windows per encoder pass

  // Encoder scratch for chunk_ windows.
  DeviceBuffer mel_, cols_, y_, act_, x_;
  // Encoder outputs (f32) and per decoder layer cross K/V (typed) for
  // max_batch windows; self-attention caches (typed) for kv_slots.
  DeviceBuffer enc_out_, cross_k_, cross_v_, self_k_, self_v_;
  // Decoder scratch for dec_rows_ rows.
  int dec_rows_ = 0;
  DeviceBuffer dx_, dact_, dy_, dlogits_, dints_, dprobs_;
  DeviceBuffer collect_;  // [n_text_layer][n_text_head] int32: index into heads_ or -1

  int encoded_ = 0;
  mutable std::vector<float> enc_host_;
  mutable bool enc_host_valid_ = false;
  Status sticky_;  // a failure of copy_kv(), returned by the next decode()

  std::vector<AlignmentHead> heads_;
  std::vector<int> head_source_;      // per entry of heads_: the collected index holding it
  std::vector<bool> layer_collects_;  // per decoder layer
  int n_collect_ = 0;                 // distinct heads collected
  std::vector<std::vector<float>> cross_host_;
};

CudaSession::~CudaSession() {
  (void)cudaSetDevice(device_);
  if (stream_ != nullptr) (void)cudaStreamSynchronize(stream_);
  if (cublas_ != nullptr) (void)cublasDestroy(cublas_);
  if (stream_ != nullptr) (void)cudaStreamDestroy(stream_);
}

Status CudaSession::init() {
  device_ = options_.device.index;
  const HParams& hp = model_->hparams();
  if (hp.n_audio_state % hp.n_audio_head != 0 || hp.n_text_state % hp.n_text_head != 0) {
    return unsupported("whisper cuda: width not a multiple of the head count");
  }
  const int dh_enc = hp.n_audio_state / hp.n_audio_head, dh_dec = hp.n_text_state / hp.n_text_head;
  if (!attention_head_size_supported(dh_enc) || !attention_head_size_supported(dh_dec)) {
    return unsupported("whisper cuda: attention head size " + std::to_string(dh_enc) + "/" + std::to_string(dh_dec) +
                       " is not supported (8, 16, 32, 64 or 128)");
  }
  SF_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  SF_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  SF_CUBLAS_RETURN_IF_ERROR(cublasCreate(&cublas_));
  SF_CUBLAS_RETURN_IF_ERROR(cublasSetStream(cublas_, stream_));
  // f32 stays f32 (no TF32); f16/bf16 GEMMs use tensor cores by default.
  SF_CUBLAS_RETURN_IF_ERROR(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));
  SF_ASSIGN_OR_RETURN(w_, device_weights(*model_, device_, type_));

  const size_t d = sz(hp.n_audio_state), dt = sz(hp.n_text_state), ctx = sz(hp.n_audio_ctx);
  const size_t frames = 2 * ctx, mels = sz(hp.n_mels), es = dtype_size(type_);
  // Chunk so that the largest scratch (the MLP's f32 output) stays near
  // 1 GiB whatever max_batch is.
  const size_t per_window = ctx * 4 * d * sizeof(float);
  chunk_ = static_cast<int>(std::clamp<size_t>((size_t{1} << 30) / std::max<size_t>(per_window, 1), 1,
                                               sz(options_.max_batch)));
  const size_t c = sz(chunk_);
  const std::string who = "whisper cuda session for " + model_->name();
  SF_RETURN_IF_ERROR(mel_.allocate(c * mels * frames * sizeof(float), who + " (mel)", device_));
  SF_RETURN_IF_ERROR(cols_.allocate(c * std::max(frames * mels * 3, ctx * d * 3) * es, who + " (conv)", device_));
  SF_RETURN_IF_ERROR(
      y_.allocate(c * std::max({frames * d, ctx * 4 * d, ctx * 3 * d, ctx * 2 * dt}) * sizeof(float), who, device_));
  SF_RETURN_IF_ERROR(act_.allocate(c * std::max(frames * d, ctx * 4 * d) * es, who, device_));
  SF_RETURN_IF_ERROR(x_.allocate(c * ctx * d * sizeof(float), who, device_));
  const size_t mb = sz(options_.max_batch), L = sz(hp.n_text_layer);
  SF_RETURN_IF_ERROR(enc_out_.allocate(mb * ctx * d * sizeof(float), who + " (encoder output)", device_));
  SF_RETURN_IF_ERROR(cross_k_.allocate(L * mb * ctx * dt * es, who + " (cross-attention keys)", device_));
  SF_RETURN_IF_ERROR(cross_v_.allocate(L * mb * ctx * dt * es, who + " (cross-attention values)", device_));
  const size_t slots = sz(options_.kv_slots), tctx = sz(hp.n_text_ctx);
  SF_RETURN_IF_ERROR(self_k_.allocate(L * slots * tctx * dt * es, who + " (self-attention cache)", device_));
  SF_RETURN_IF_ERROR(self_v_.allocate(L * slots * tctx * dt * es, who + " (self-attention cache)", device_));
  SF_RETURN_IF_ERROR(collect_.allocate(L * sz(hp.n_text_head) * sizeof(int32_t), who, device_));
  layer_collects_.assign(L, false);
  return ensure_decode_capacity(std::max(options_.kv_slots, 1));
}

Status CudaSession::ensure_decode_capacity(int rows) {
  if (rows <= dec_rows_) return {};
  const HParams& hp = model_->hparams();
  const size_t r = sz(rows), dt = sz(hp.n_text_state), es = dtype_size(type_);
  const std::string who = "whisper cuda decoder scratch for " + std::to_string(rows) + " rows";
  dec_rows_ = 0;
  SF_RETURN_IF_ERROR(dx_.allocate(r * dt * sizeof(float), who, device_));
  SF_RETURN_IF_ERROR(dact_.allocate(r * 4 * dt * es, who, device_));
  SF_RETURN_IF_ERROR(dy_.allocate(r * 4 * dt * sizeof(float), who, device_));
  SF_RETURN_IF_ERROR(dlogits_.allocate(r * sz(hp.n_vocab) * sizeof(float), who + " (logits)", device_));
  SF_RETURN_IF_ERROR(dints_.allocate(r * 5 * sizeof(int32_t), who, device_));
  dprobs_.reset();
  dec_rows_ = rows;
  return {};
}

Status CudaSession::gemm(const void* x, const void* w, float* y, int rows, int out, int in) {
  if (rows == 0) return {};
  const float alpha = 1.0f, beta = 0.0f;
  const cudaDataType_t t = cuda_type(type_);
  // Row-major y = x w^T is column-major y^T = w^T x^T: w ([out, in] row-
  // major) is an in x out column-major matrix, used transposed.
  SF_CUBLAS_RETURN_IF_ERROR(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &alpha, w, t, in, x, t, in,
                                         &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  return {};
}

Status CudaSession::encode(std::span<const float> mel, int batch) {
  const HParams& hp = model_->hparams();
  if (batch < 1 || batch > options_.max_batch) {
    return invalid_argument("whisper encode: batch " + std::to_string(batch) + " outside 1.." +
                            std::to_string(options_.max_batch));
  }
  const size_t per = sz(hp.n_mels) * 2 * sz(hp.n_audio_ctx);
  if (mel.size() != sz(batch) * per) {
    return invalid_argument("whisper encode: expected " + std::to_string(sz(batch) * per) + " mel values, got " +
                            std::to_string(mel.size()));
  }
  SF_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  encoded_ = 0;
  enc_host_valid_ = false;
  for (int b0 = 0; b0 < batch; b0 += chunk_) {
    const int nb = std::min(chunk_, batch - b0);
    SF_RETURN_IF_ERROR(encode_chunk(mel.data() + sz(b0) * per, b0, nb));
  }
  SF_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  encoded_ = batch;
  return {};
}

Status CudaSession::encode_chunk(const float* mel, int b0, int nb) {
  const HParams& hp = model_->hparams();
  const DeviceWeights& w = *w_;
  const int d = hp.n_audio_state, dt = hp.n_text_state, ctx = hp.n_audio_ctx, frames = 2 * ctx;
  const int n = nb * ctx;  // encoder rows of this chunk
  float* y = y_.get<float>();
  float* x = x_.get<float>();
  void* act = act_.get();
  void* cols = cols_.get();

  SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(mel_.get(), mel, sz(nb) * sz(hp.n_mels) * sz(frames) * sizeof(float),
                                          cudaMemcpyHostToDevice, stream_));
  SF_CUDA_RETURN_IF_ERROR(im2col_conv1(mel_.get<float>(), cols, type_, nb, hp.n_mels, frames, stream_));
  SF_RETURN_IF_ERROR(gemm(cols, w.conv1_w, y, nb * frames, d, hp.n_mels * 3));
  SF_CUDA_RETURN_IF_ERROR(bias_gelu(y, w.conv1_b, act, type_, sz(nb) * sz(frames), d, stream_));
  SF_CUDA_RETURN_IF_ERROR(im2col_conv2(act, cols, type_, nb, d, frames, ctx, stream_));
  SF_RETURN_IF_ERROR(gemm(cols, w.conv2_w, y, n, d, d * 3));
  SF_CUDA_RETURN_IF_ERROR(bias_gelu_pos(y, w.conv2_b, w.enc_pos, x, sz(n), ctx, d, stream_));

  for (const DeviceLayer& l : w.enc) {
    SF_CUDA_RETURN_IF_ERROR(layer_norm(x, l.attn_ln_w, l.attn_ln_b, act, type_, n, d, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.qkv_w, y, n, 3 * d, d));
    SF_CUDA_RETURN_IF_ERROR(add_bias(y, l.qkv_b, sz(n), 3 * d, stream_));
    SF_CUDA_RETURN_IF_ERROR(encoder_attention(y, act, type_, nb, ctx, hp.n_audio_head, d / hp.n_audio_head, stream_));
    // The attention output (act) feeds the projection into y: distinct
    // buffers, as qkv (y) is no longer needed.
    SF_RETURN_IF_ERROR(gemm(act, l.o_w, y, n, d, d));
    SF_CUDA_RETURN_IF_ERROR(bias_residual(y, l.o_b, x, sz(n), d, stream_));
    SF_CUDA_RETURN_IF_ERROR(layer_norm(x, l.mlp_ln_w, l.mlp_ln_b, act, type_, n, d, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.fc1_w, y, n, 4 * d, d));
    SF_CUDA_RETURN_IF_ERROR(bias_gelu(y, l.fc1_b, act, type_, sz(n), 4 * d, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.fc2_w, y, n, d, 4 * d));
    SF_CUDA_RETURN_IF_ERROR(bias_residual(y, l.fc2_b, x, sz(n), d, stream_));
  }
  float* out = enc_out_.get<float>() + sz(b0) * sz(ctx) * sz(d);
  SF_CUDA_RETURN_IF_ERROR(layer_norm(x, w.enc_ln_w, w.enc_ln_b, out, DType::kF32, n, d, stream_));

  // Every decoder layer's cross-attention keys and values for these windows.
  const void* enc_typed = out;
  if (type_ != DType::kF32) {
    SF_CUDA_RETURN_IF_ERROR(convert_f32(out, act, type_, sz(n) * sz(d), stream_));
    enc_typed = act;
  }
  const size_t layer_stride = sz(options_.max_batch) * sz(ctx) * sz(dt);
  for (size_t li = 0; li < w.dec.size(); ++li) {
    const DeviceLayer& l = w.dec[li];
    SF_RETURN_IF_ERROR(gemm(enc_typed, l.cross_kv_w, y, n, 2 * dt, d));
    const size_t off = li * layer_stride + sz(b0) * sz(ctx) * sz(dt);
    SF_CUDA_RETURN_IF_ERROR(
        scatter_cross_kv(y, l.cross_v_b, typed(cross_k_, off), typed(cross_v_, off), type_, sz(n), dt, stream_));
  }
  return {};
}

const float* CudaSession::encoder_output(int b) const {
  const HParams& hp = model_->hparams();
  const size_t per = sz(hp.n_audio_ctx) * sz(hp.n_audio_state);
  if (!enc_host_valid_) {
    enc_host_.resize(sz(encoded_) * per);
    if (cudaSetDevice(device_) != cudaSuccess ||
        cudaMemcpyAsync(enc_host_.data(), enc_out_.get(), enc_host_.size() * sizeof(float), cudaMemcpyDeviceToHost,
                        stream_) != cudaSuccess ||
        cudaStreamSynchronize(stream_) != cudaSuccess) {
      (void)cudaGetLastError();
      return nullptr;
    }
    enc_host_valid_ = true;
  }
  return enc_host_.data() + sz(b) * per;
}

Status CudaSession::decode(std::span<const DecodeItem> items, std::vector<float>* logits, bool all_logits) {
  const HParams& hp = model_->hparams();
  if (!sticky_.ok()) {
    Status s = sticky_;
    sticky_ = {};
    return s;
  }
  if (encoded_ == 0) return invalid_argument("whisper decode: called before encode()");
  if (items.empty()) return invalid_argument("whisper decode: no items");
  if (logits == nullptr) return invalid_argument("whisper decode: no output for the logits");
  // Rows: every token of every item. Host tables, uploaded at once:
  // token, position, slot, window, key count per row; then the rows whose
  // logits are wanted.
  std::vector<int32_t> tok, pos, slot, win, nkeys, out_rows;
  std::vector<bool> used(sz(options_.kv_slots), false);
  for (size_t i = 0; i < items.size(); ++i) {
    const DecodeItem& it = items[i];
    const std::string where = "whisper decode: item " + std::to_string(i) + ": ";
    if (it.batch_index < 0 || it.batch_index >= encoded_) return invalid_argument(where + "bad batch index");
    if (it.slot < 0 || it.slot >= options_.kv_slots) return invalid_argument(where + "bad slot");
    if (used[sz(it.slot)]) return invalid_argument(where + "slot used twice");
    used[sz(it.slot)] = true;
    if (it.tokens.empty()) return invalid_argument(where + "no tokens");
    if (it.n_past < 0 || it.n_past + static_cast<int>(it.tokens.size()) > hp.n_text_ctx) {
      return invalid_argument(where + "n_past + tokens past n_text_ctx");
    }
    for (size_t j = 0; j < it.tokens.size(); ++j) {
      if (it.tokens[j] < 0 || it.tokens[j] >= hp.n_vocab) return invalid_argument(where + "bad token id");
      if (all_logits || j + 1 == it.tokens.size()) out_rows.push_back(static_cast<int32_t>(tok.size()));
      tok.push_back(it.tokens[j]);
      pos.push_back(it.n_past + static_cast<int>(j));
      slot.push_back(it.slot);
      win.push_back(it.batch_index);
      nkeys.push_back(it.n_past + static_cast<int>(j) + 1);
    }
  }
  const int rows = static_cast<int>(tok.size()), m = static_cast<int>(out_rows.size());
  SF_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  SF_RETURN_IF_ERROR(ensure_decode_capacity(rows));
  const size_t r = sz(rows);
  std::vector<int32_t> ints(5 * r);
  std::copy(tok.begin(), tok.end(), ints.begin());
  std::copy(pos.begin(), pos.end(), ints.begin() + static_cast<std::ptrdiff_t>(r));
  std::copy(slot.begin(), slot.end(), ints.begin() + static_cast<std::ptrdiff_t>(2 * r));
  std::copy(win.begin(), win.end(), ints.begin() + static_cast<std::ptrdiff_t>(3 * r));
  std::copy(nkeys.begin(), nkeys.end(), ints.begin() + static_cast<std::ptrdiff_t>(4 * r));
  int32_t* d_ints = dints_.get<int32_t>();
  SF_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(d_ints, ints.data(), ints.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
  const int32_t *d_tok = d_ints, *d_pos = d_ints + r, *d_slot = d_ints + 2 * r, *d_win = d_ints + 3 * r,
                *d_nkeys = d_ints + 4 * r;

  const bool collecting = n_collect_ > 0;
  const int ctx = hp.n_audio_ctx;
  if (collecting) {
    const size_t need = sz(n_collect_) * r * sz(ctx) * sizeof(float);
    if (dprobs_.bytes() < need) SF_RETURN_IF_ERROR(dprobs_.allocate(need, "whisper cuda cross-attention", device_));
  }

  const DeviceWeights& w = *w_;
  const int dt = hp.n_text_state, nh = hp.n_text_head, dh = dt / nh, tctx = hp.n_text_ctx;
  float* x = dx_.get<float>();
  float* y = dy_.get<float>();
  void* act = dact_.get();
  SF_CUDA_RETURN_IF_ERROR(embed(d_tok, d_pos, w.tok_emb_f32, w.dec_pos, x, rows, dt, stream_));
  const size_t self_stride = sz(options_.kv_slots) * sz(tctx) * sz(dt);
  const size_t cross_stride = sz(options_.max_batch) * sz(ctx) * sz(dt);
  for (size_t li = 0; li < w.dec.size(); ++li) {
    const DeviceLayer& l = w.dec[li];
    void* kc = typed(self_k_, li * self_stride);
    void* vc = typed(self_v_, li * self_stride);
    SF_CUDA_RETURN_IF_ERROR(layer_norm(x, l.attn_ln_w, l.attn_ln_b, act, type_, rows, dt, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.qkv_w, y, rows, 3 * dt, dt));
    SF_CUDA_RETURN_IF_ERROR(add_bias(y, l.qkv_b, r, 3 * dt, stream_));
    SF_CUDA_RETURN_IF_ERROR(store_self_kv(y, d_slot, d_pos, kc, vc, type_, rows, dt, tctx, stream_));
    SF_CUDA_RETURN_IF_ERROR(decoder_attention(y, 3 * dt, kc, vc, type_, d_slot, d_nkeys, 0, tctx, rows, nh, dh, act,
                                              nullptr, nullptr, 0, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.o_w, y, rows, dt, dt));
    SF_CUDA_RETURN_IF_ERROR(bias_residual(y, l.o_b, x, r, dt, stream_));

    SF_CUDA_RETURN_IF_ERROR(layer_norm(x, l.cross_ln_w, l.cross_ln_b, act, type_, rows, dt, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.cross_q_w, y, rows, dt, dt));
    SF_CUDA_RETURN_IF_ERROR(add_bias(y, l.cross_q_b, r, dt, stream_));
    const bool here = collecting && layer_collects_[li];
    SF_CUDA_RETURN_IF_ERROR(decoder_attention(
        y, dt, typed(cross_k_, li * cross_stride), typed(cross_v_, li * cross_stride), type_, d_win, nullptr, ctx, ctx,
        rows, nh, dh, act, here ? dprobs_.get<float>() : nullptr,
        here ? collect_.get<int32_t>() + li * sz(nh) : nullptr, ctx, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.cross_o_w, y, rows, dt, dt));
    SF_CUDA_RETURN_IF_ERROR(bias_residual(y, l.cross_o_b, x, r, dt, stream_));

    SF_CUDA_RETURN_IF_ERROR(layer_norm(x, l.mlp_ln_w, l.mlp_ln_b, act, type_, rows, dt, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.fc1_w, y, rows, 4 * dt, dt));
    SF_CUDA_RETURN_IF_ERROR(bias_gelu(y, l.fc1_b, act, type_, r, 4 * dt, stream_));
    SF_RETURN_IF_ERROR(gemm(act, l.fc2_w, y, rows, dt, 4 * dt));
    SF_CUDA_RETURN_IF_ERROR(bias_residual(y, l.fc2_b, x, r, dt, stream_));
  }
  SF_CUDA_RETURN_IF_ERROR(layer_norm(x, w.dec_ln_w, w.dec_ln_b, act, type_, rows, dt, stream_));
  const void* final_rows = act;
  if (m < rows) {
    // The rows that want logits, gathered behind the normalized ones (act
    // holds 4 * rows rows of dt).
    int32_t* d_out_rows = d_ints;  // tokens are no longer needed
    SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(d_out_rows, out_rows.data(), out_rows.size() * sizeof(int32_t),
                                            cudaMemcpyHostToDevice, stream_));
    void* gathered = typed(dact_, r * sz(dt));
    SF_CUDA_RETURN_IF_ERROR(gather_rows(act, gathered, type_, d_out_rows, m, dt, stream_));
    final_rows = gathered;
  }
  SF_RETURN_IF_ERROR(gemm(final_rows, w.tok_emb, dlogits_.get<float>(), m, hp.n_vocab, dt));
  logits->resize(sz(m) * sz(hp.n_vocab));
  SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(logits->data(), dlogits_.get(), logits->size() * sizeof(float),
                                          cudaMemcpyDeviceToHost, stream_));
  std::vector<float> probs;
  if (collecting) {
    probs.resize(sz(n_collect_) * r * sz(ctx));
    SF_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(probs.data(), dprobs_.get(), probs.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_));
  }
  SF_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));

  cross_host_.clear();
  if (collecting) {
    // Device layout [collected head][row][key]; the contract's per item
    // [head in the order given][token][key].
    cross_host_.resize(items.size());
    size_t row0 = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const size_t nt = items[i].tokens.size();
      std::vector<float>& dst = cross_host_[i];
      dst.resize(heads_.size() * nt * sz(ctx));
      for (size_t h = 0; h < heads_.size(); ++h) {
        const float* src = probs.data() + (sz(head_source_[h]) * r + row0) * sz(ctx);
        std::memcpy(dst.data() + h * nt * sz(ctx), src, nt * sz(ctx) * sizeof(float));
      }
      row0 += nt;
    }
  }
  return {};
}

void CudaSession::copy_kv(int src_slot, int dst_slot, int n) {
  const HParams& hp = model_->hparams();
  if (src_slot == dst_slot || n <= 0 || !sticky_.ok()) return;
  if (src_slot < 0 || dst_slot < 0 || src_slot >= options_.kv_slots || dst_slot >= options_.kv_slots ||
      n > hp.n_text_ctx) {
    sticky_ = invalid_argument("whisper copy_kv: bad slot or length");
    return;
  }
  const size_t dt = sz(hp.n_text_state), tctx = sz(hp.n_text_ctx);
  const size_t self_stride = sz(options_.kv_slots) * tctx * dt;
  const size_t bytes = sz(n) * dt * dtype_size(type_);
  sticky_ = cuda_status(cudaSetDevice(device_), "cudaSetDevice");
  for (size_t li = 0; li < sz(hp.n_text_layer) && sticky_.ok(); ++li) {
    for (const DeviceBuffer* b : {&self_k_, &self_v_}) {
      const size_t base = li * self_stride;
      sticky_ = cuda_status(cudaMemcpyAsync(typed(*b, base + sz(dst_slot) * tctx * dt),
                                            typed(*b, base + sz(src_slot) * tctx * dt), bytes,
                                            cudaMemcpyDeviceToDevice, stream_),
                            "cudaMemcpyAsync (copy_kv)");
      if (!sticky_.ok()) break;
    }
  }
}

// Positions past a sequence's n_past are never read (every decode() writes
// the positions it attends to before attending), so there is nothing to
// clear.
void CudaSession::reset_kv(int /*slot*/) {}

Status CudaSession::set_collect_cross_attention(std::vector<AlignmentHead> heads) {
  const HParams& hp = model_->hparams();
  for (const AlignmentHead& h : heads) {
    if (h.layer < 0 || h.layer >= hp.n_text_layer || h.head < 0 || h.head >= hp.n_text_head) {
      return invalid_argument("whisper: alignment head (" + std::to_string(h.layer) + ", " + std::to_string(h.head) +
                              ") out of range");
    }
  }
  std::vector<int32_t> table(sz(hp.n_text_layer) * sz(hp.n_text_head), -1);
  std::vector<int> source;
  std::vector<bool> layers(sz(hp.n_text_layer), false);
  int distinct = 0;
  for (const AlignmentHead& h : heads) {
    int32_t& t = table[sz(h.layer) * sz(hp.n_text_head) + sz(h.head)];
    if (t < 0) t = distinct++;
    source.push_back(t);
    layers[sz(h.layer)] = true;
  }
  SF_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
  SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(collect_.get(), table.data(), table.size() * sizeof(int32_t),
                                          cudaMemcpyHostToDevice, stream_));
  SF_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  heads_ = std::move(heads);
  head_source_ = std::move(source);
  layer_collects_ = std::move(layers);
  n_collect_ = distinct;
  cross_host_.clear();
  return {};
}

std::span<const float> CudaSession::cross_attention(int item) const {
  if (item < 0 || sz(item) >= cross_host_.size()) return {};
  return cross_host_[sz(item)];
}

Result<std::unique_ptr<Session>> create_cuda_session(std::shared_ptr<const Model> model,
                                                     const SessionOptions& options) {
  SF_ASSIGN_OR_RETURN(SessionOptions opts, validate_session_options(model.get(), options));
  opts.device.kind = Device::Kind::kCuda;
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    (void)cudaGetLastError();
    return unavailable(std::string("whisper cuda: no usable CUDA device (") + cudaGetErrorString(e) + ")");
  }
  if (opts.device.index < 0 || opts.device.index >= count) {
    return unavailable("whisper cuda: no CUDA device " + std::to_string(opts.device.index) + " (" +
                       std::to_string(count) + " found)");
  }
  cudaDeviceProp prop{};
  SF_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, opts.device.index));
  std::string why;
  DType type = DType::kF16;
  switch (opts.compute_type) {
    case ComputeType::kAuto:
    case ComputeType::kF16:
      opts.compute_type = ComputeType::kF16;
      break;
    case ComputeType::kF32:
      type = DType::kF32;
      break;
    case ComputeType::kBF16:
      if (prop.major >= 8) {
        type = DType::kBF16;
      } else {
        opts.compute_type = ComputeType::kF16;
        why = "bf16 needs compute capability 8.0 or newer; running f16";
      }
      break;
    case ComputeType::kInt8:
    case ComputeType::kInt8Float16:
      why = "int8 GEMMs are not implemented on CUDA yet; running f16";
      opts.compute_type = ComputeType::kF16;
      break;
  }
  auto s = std::make_unique<CudaSession>(std::move(model), opts, std::move(why), type);
  SF_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<Session>(std::move(s));
}

}  // namespace sf::asr::whisper::cuda
