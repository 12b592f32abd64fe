#include "asr/whisper/cuda/device_weights.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "asr/whisper/cuda/cuda_status.h"

namespace sf::asr::whisper::cuda {
namespace {

// A piece of a tensor: n floats from the host, or n zeros where src is null.
struct Part {
  const float* src;
  size_t n;
};

// Lays tensors out in one allocation. Run twice over the same sequence of
// calls: first with base == nullptr to measure (sizes only), then with the
// allocation to upload and hand out device pointers.
class Uploader {
 public:
  Uploader(char* base, DType type, float* staging, cudaStream_t stream)
      : base_(base), type_(type), staging_(staging), stream_(stream) {}

  const void* typed(std::initializer_list<Part> parts) { return place(parts, type_); }
  const float* f32(std::initializer_list<Part> parts) { return static_cast<const float*>(place(parts, DType::kF32)); }

  bool type_is_f32() const { return type_ == DType::kF32; }
  size_t size() const { return offset_; }
  size_t largest_part() const { return largest_; }
  const Status& status() const { return status_; }

 private:
  const void* place(std::initializer_list<Part> parts, DType t) {
    offset_ = (offset_ + 255) / 256 * 256;
    const size_t start = offset_;
    for (const Part& p : parts) {
      largest_ = std::max(largest_, p.n);
      if (base_ != nullptr && status_.ok()) status_ = upload(p, t, base_ + offset_);
      offset_ += p.n * dtype_size(t);
    }
    return base_ != nullptr ? base_ + start : nullptr;
  }

  Status upload(const Part& p, DType t, char* dst) {
    const size_t bytes = p.n * dtype_size(t);
    if (p.src == nullptr) {
      SF_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(dst, 0, bytes, stream_));
      return {};
    }
    if (t == DType::kF32) {
      SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, p.src, bytes, cudaMemcpyHostToDevice, stream_));
      return {};
    }
    // Converted on the device: the host only copies.
    SF_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(staging_, p.src, p.n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    SF_CUDA_RETURN_IF_ERROR(convert_f32(staging_, dst, t, p.n, stream_));
    SF_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));  // staging is reused by the next part
    return {};
  }

  char* base_;
  DType type_;
  float* staging_;
  cudaStream_t stream_;
  size_t offset_ = 0;
  size_t largest_ = 0;
  Status status_;
};

// Every tensor, in one fixed order; both passes run this.
void lay_out(const Model& model, Uploader& u, DeviceWeights* w) {
  const HParams& hp = model.hparams();
  const Weights& m = model.weights();
  const size_t d = static_cast<size_t>(hp.n_audio_state), dt = static_cast<size_t>(hp.n_text_state);
  const size_t mels = static_cast<size_t>(hp.n_mels);
  w->conv1_w = u.typed({{m.conv1_w, d * mels * 3}});
  w->conv1_b = u.f32({{m.conv1_b, d}});
  w->conv2_w = u.typed({{m.conv2_w, d * d * 3}});
  w->conv2_b = u.f32({{m.conv2_b, d}});
  w->enc_pos = u.f32({{m.enc_pos, static_cast<size_t>(hp.n_audio_ctx) * d}});
  auto block = [&u](const EncoderLayerWeights& l, size_t n, DeviceLayer* o) {
    o->attn_ln_w = u.f32({{l.attn_ln_w, n}});
    o->attn_ln_b = u.f32({{l.attn_ln_b, n}});
    o->qkv_w = u.typed({{l.q_w, n * n}, {l.k_w, n * n}, {l.v_w, n * n}});
    o->qkv_b = u.f32({{l.q_b, n}, {nullptr, n}, {l.v_b, n}});
    o->o_w = u.typed({{l.o_w, n * n}});
    o->o_b = u.f32({{l.o_b, n}});
    o->mlp_ln_w = u.f32({{l.mlp_ln_w, n}});
    o->mlp_ln_b = u.f32({{l.mlp_ln_b, n}});
    o->fc1_w = u.typed({{l.fc1_w, 4 * n * n}});
    o->fc1_b = u.f32({{l.fc1_b, 4 * n}});
    o->fc2_w = u.typed({{l.fc2_w, 4 * n * n}});
    o->fc2_b = u.f32({{l.fc2_b, n}});
  };
  w->enc.resize(m.enc.size());
  for (size_t i = 0; i < m.enc.size(); ++i) block(m.enc[i], d, &w->enc[i]);
  w->enc_ln_w = u.f32({{m.enc_ln_w, d}});
  w->enc_ln_b = u.f32({{m.enc_ln_b, d}});
  const size_t vocab = static_cast<size_t>(hp.n_vocab);
  w->tok_emb_f32 = u.f32({{m.tok_emb, vocab * dt}});
  w->tok_emb = u.type_is_f32() ? w->tok_emb_f32 : u.typed({{m.tok_emb, vocab * dt}});
  w->dec_pos = u.f32({{m.dec_pos, static_cast<size_t>(hp.n_text_ctx) * dt}});
  w->dec.resize(m.dec.size());
  for (size_t i = 0; i < m.dec.size(); ++i) {
    const DecoderLayerWeights& l = m.dec[i];
    DeviceLayer* o = &w->dec[i];
    block(l.self, dt, o);
    o->cross_ln_w = u.f32({{l.cross_ln_w, dt}});
    o->cross_ln_b = u.f32({{l.cross_ln_b, dt}});
    o->cross_q_w = u.typed({{l.cross_q_w, dt * dt}});
    o->cross_q_b = u.f32({{l.cross_q_b, dt}});
    // Keys/values project the encoder output (width d) to the decoder's.
    o->cross_kv_w = u.typed({{l.cross_k_w, dt * d}, {l.cross_v_w, dt * d}});
    o->cross_v_b = u.f32({{l.cross_v_b, dt}});
    o->cross_o_w = u.typed({{l.cross_o_w, dt * dt}});
    o->cross_o_b = u.f32({{l.cross_o_b, dt}});
  }
  w->dec_ln_w = u.f32({{m.dec_ln_w, dt}});
  w->dec_ln_b = u.f32({{m.dec_ln_b, dt}});
}

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

Result<std::shared_ptr<const DeviceWeights>> upload(const Model& model, int device, DType type) {
  SF_CUDA_RETURN_IF_ERROR(cudaSetDevice(device));
  auto w = std::make_shared<DeviceWeights>();
  w->device = device;
  w->type = type;
  Uploader plan(nullptr, type, nullptr, nullptr);
  lay_out(model, plan, w.get());
  w->bytes = plan.size();
  if (cudaError_t e = cudaMalloc(&w->base, w->bytes); e != cudaSuccess) {
    w->base = nullptr;
    size_t free_b = 0, total_b = 0;
    (void)cudaGetLastError();
    (void)cudaMemGetInfo(&free_b, &total_b);
    if (e == cudaErrorMemoryAllocation) {
      return unavailable("out of GPU memory: the weights of " + model.name() + " need " + mib(w->bytes) +
                         " on cuda:" + std::to_string(device) + ", " + mib(free_b) + " free");
    }
    return cuda_status(e, "cudaMalloc");
  }
  void* staging = nullptr;
  if (type != DType::kF32) {
    if (cudaError_t e = cudaMalloc(&staging, plan.largest_part() * sizeof(float)); e != cudaSuccess) {
      return cuda_status(e, "cudaMalloc (weight staging)");
    }
  }
  cudaStream_t stream = nullptr;
  Status st = cuda_status(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  if (st.ok()) {
    Uploader up(static_cast<char*>(w->base), type, static_cast<float*>(staging), stream);
    lay_out(model, up, w.get());
    st = up.status();
    if (st.ok()) st = cuda_status(cudaStreamSynchronize(stream), "cudaStreamSynchronize (weight upload)");
    (void)cudaStreamDestroy(stream);
  }
  if (staging != nullptr) (void)cudaFree(staging);
  if (!st.ok()) return st;
  return std::shared_ptr<const DeviceWeights>(std::move(w));
}

}  // namespace

DeviceWeights::~DeviceWeights() {
  if (base == nullptr) return;
  int current = 0;
  (void)cudaGetDevice(&current);
  (void)cudaSetDevice(device);
  (void)cudaFree(base);
  (void)cudaSetDevice(current);
}

Result<std::shared_ptr<const DeviceWeights>> device_weights(const Model& model, int device, DType type) {
  // Keyed by the model's address: while any entry's weights are alive, a
  // session holding them also holds the model, so the address is not reused.
  using Key = std::tuple<const Model*, int, DType>;
  static std::mutex mu;
  static auto* cache = new std::map<Key, std::weak_ptr<const DeviceWeights>>();  // never destroyed: outlives exit
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = cache->begin(); it != cache->end();) it = it->second.expired() ? cache->erase(it) : std::next(it);
  const Key key{&model, device, type};
  if (auto it = cache->find(key); it != cache->end()) {
    if (auto w = it->second.lock()) return w;
  }
  // Uploading under the lock: a second session on the same model waits for
  // the first upload instead of making its own copy.
  SF_ASSIGN_OR_RETURN(std::shared_ptr<const DeviceWeights> w, upload(model, device, type));
  (*cache)[key] = w;
  return w;
}

}  // namespace sf::asr::whisper::cuda
