#include "asr/whisper/cpu/cpu_session.h"

#include "asr/whisper/cpu/gemm_lowp.h"
#include "asr/whisper/cpu/kernels.h"
#include "asr/whisper/cpu/parallel.h"
#include "asr/whisper/cpu/prepared.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

namespace sf::asr::whisper {

namespace {

size_t sz(long v) { return static_cast<size_t>(v); }

// C[M,N] = alpha * A[M,K] * B[N,K]^T + beta * C (PyTorch's Linear layout
// for B).
void gemm_nt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc,
             float alpha = 1.0f, float beta = 0.0f) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// C[M,N] = A[M,K] * B[K,N].
void gemm_nn(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

// y[rows, out] = x[rows, in] * W^T + b. Seeding y with the bias lets the
// GEMM add it for free (beta = 1).
void linear(const float* x, int rows, int in, const float* w, const float* b, int out, float* y) {
  if (b != nullptr) {
    for (int r = 0; r < rows; ++r) std::memcpy(y + sz(r) * sz(out), b, sz(out) * sizeof(float));
  }
  gemm_nt(rows, out, in, x, in, w, in, y, out, 1.0f, b != nullptr ? 1.0f : 0.0f);
}

// x += h * W^T + b (the residual branch of a block).
void linear_residual(const float* h, int rows, int in, const float* w, const float* b, int out, float* x) {
  for (int r = 0; r < rows; ++r) {
    float* row = x + sz(r) * sz(out);
    for (int i = 0; i < out; ++i) row[i] += b[i];
  }
  gemm_nt(rows, out, in, h, in, w, in, x, out, 1.0f, 1.0f);
}

}  // namespace

struct CpuSession::State {
  explicit State(int threads) : pool(threads) {}
  cpu::ThreadPool pool;

  // Element-wise work split over the pool (never while BLAS runs).
  void gelu(float* p, size_t n) {
    pool.parallel_for(n, [p](size_t b, size_t e) { cpu::gelu(p + b, e - b); }, 1 << 14);
  }
  void layer_norm(const float* in, float* y, int rows, int d, const float* w, const float* b) {
    pool.parallel_for(
        sz(rows),
        [=](size_t r0, size_t r1) {
          cpu::layer_norm(in + r0 * sz(d), y + r0 * sz(d), static_cast<int>(r1 - r0), d, w, b);
        },
        16);
  }
  // A decoder projection y = x W^T + b (or x += x' W^T + b with residual).
  // Few rows: our streaming kernels (over the F16 copy of W where there is
  // one: memory-bound, so half the bytes is what counts), split by output
  // column over the pool; many rows: the f32 GEMM.
  void proj(const float* in, int rows, int width, const float* w, const uint16_t* wh, const float* b, int out, float* y,
            bool residual) {
    if (rows > kStreamRowsMax || !cpu::fast_f16()) {
      if (residual) {
        linear_residual(in, rows, width, w, b, out, y);
      } else {
        linear(in, rows, width, w, b, out, y);
      }
      return;
    }
    const bool accumulate = seed_bias(rows, b, out, y, residual);
    pool.parallel_for(
        sz(out),
        [=](size_t n0, size_t n1) {
          if (wh != nullptr) {
            cpu::gemm_f16(in, rows, width, wh, static_cast<int>(n0), static_cast<int>(n1), y, sz(out), accumulate);
          } else {
            cpu::gemm_f32(in, rows, width, w, static_cast<int>(n0), static_cast<int>(n1), y, sz(out), accumulate);
          }
        },
        256);
  }
  static constexpr int kStreamRowsMax = 16;

  // Before a GEMM that accumulates into y: y = b per row (or y += b with
  // residual). Returns whether the GEMM must accumulate.
  static bool seed_bias(int rows, const float* b, int out, float* y, bool residual) {
    for (int r = 0; r < rows && b != nullptr; ++r) {
      float* row = y + sz(r) * sz(out);
      if (residual) {
        for (int i = 0; i < out; ++i) row[i] += b[i];
      } else {
        std::memcpy(row, b, sz(out) * sizeof(float));
      }
    }
    return residual || b != nullptr;
  }

  void softmax_rows(float* p, int rows, int n, size_t stride) {
    pool.parallel_for(
        sz(rows), [=](size_t r0, size_t r1) { cpu::softmax_rows(p + r0 * stride, static_cast<int>(r1 - r0), n, stride); },
        std::max<size_t>(1, (1 << 14) / sz(std::max(n, 1))));
  }

  // Low-precision encoder (compute types bf16 and int8): the prepared
  // weights (shared with every session over the model) and scratch.
  std::shared_ptr<const cpu::PreparedWeights> lowp;
  std::vector<uint16_t> a_bf16;  // a GEMM's input rows in bf16
  std::vector<uint8_t> a_u8;     // ... or quantized to u8
  std::vector<float> a_scale;    // ... with one scale per row
  std::vector<uint16_t> q_bf16, p_bf16;
  cpu::PackedBf16 k_head, v_head;

  // Splits a GEMM of `rows` rows and `panels` column panels over the pool:
  // by panels where there are enough to keep every thread busy, else by
  // blocks of rows. f(m0, m1, p0, p1).
  template <class F>
  void gemm_split(int rows, int panels, F&& f) {
    const int t = pool.threads();
    if (t == 1) {
      f(0, rows, 0, panels);
    } else if (panels >= 4 * t) {
      pool.parallel_for(sz(panels), [&](size_t p0, size_t p1) {
        f(0, rows, static_cast<int>(p0), static_cast<int>(p1));
      });
    } else {
      constexpr int kRows = 64;
      pool.parallel_for(sz((rows + kRows - 1) / kRows), [&](size_t b0, size_t b1) {
        f(static_cast<int>(b0) * kRows, std::min(rows, static_cast<int>(b1) * kRows), 0, panels);
      });
    }
  }

  // y = x W^T + b (or y += x W^T + b with residual) over a prepared matrix.
  void lowp_linear(const float* in, int rows, int width, const cpu::LowpMatrix& m, const float* b, int out, float* y,
                   bool residual) {
    const bool accumulate = seed_bias(rows, b, out, y, residual);
    if (m.is_int8()) {
      const int kp = m.int8.k_pad;
      a_u8.resize(sz(rows) * sz(kp));
      a_scale.resize(sz(rows));
      pool.parallel_for(
          sz(rows),
          [&](size_t r0, size_t r1) {
            cpu::quantize_rows_u8(in + r0 * sz(width), static_cast<int>(r1 - r0), width, sz(width),
                                  a_u8.data() + r0 * sz(kp), sz(kp), kp, a_scale.data() + r0);
          },
          16);
      gemm_split(rows, m.int8.panels(), [&](int m0, int m1, int p0, int p1) {
        cpu::gemm_int8(a_u8.data(), sz(kp), a_scale.data(), m0, m1, m.int8, p0, p1, y, sz(out), 1.0f, accumulate);
      });
      return;
    }
    const int kp = m.bf16.k_pad;
    a_bf16.resize(sz(rows) * sz(kp));
    to_bf16(in, rows, width, sz(width), a_bf16.data(), kp);
    gemm_split(rows, m.bf16.panels(), [&](int m0, int m1, int p0, int p1) {
      cpu::gemm_bf16(a_bf16.data(), sz(kp), m0, m1, m.bf16, p0, p1, y, sz(out), 1.0f, accumulate);
    });
  }

  void to_bf16(const float* in, int rows, int width, size_t ld, uint16_t* out, int k_pad) {
    pool.parallel_for(
        sz(rows),
        [&](size_t r0, size_t r1) {
          cpu::to_bf16_rows(in + r0 * ld, static_cast<int>(r1 - r0), width, ld, out + r0 * sz(k_pad), sz(k_pad),
                            k_pad);
        },
        16);
  }

  // Self-attention of the encoder (all T positions, no mask) in bf16:
  // attn = softmax(scale q k^T) v per head; q, k, v, attn are T x d.
  void attention_bf16(const float* qf, const float* kf, const float* vf, int T, int d, int nh, float scale,
                      float* out) {
    const int width = d / nh;
    q_bf16.resize(sz(T) * sz(d));
    to_bf16(qf, T, d, sz(d), q_bf16.data(), d);
    const int tp = (T + 1) & ~1;
    p_bf16.resize(sz(T) * sz(tp));
    for (int hd = 0; hd < nh; ++hd) {
      const int off = hd * width;
      cpu::pack_bf16_nk(kf + off, T, width, sz(d), &k_head);
      gemm_split(T, k_head.panels(), [&](int m0, int m1, int p0, int p1) {
        cpu::gemm_bf16(q_bf16.data() + off, sz(d), m0, m1, k_head, p0, p1, scores.data(), sz(T), scale, false);
      });
      pool.parallel_for(
          sz(T),
          [&](size_t r0, size_t r1) {
            cpu::softmax_rows_to_bf16(scores.data() + r0 * sz(T), static_cast<int>(r1 - r0), T, sz(T),
                                      p_bf16.data() + r0 * sz(tp), sz(tp), tp);
          },
          8);
      cpu::pack_bf16_kn(vf + off, T, width, sz(d), &v_head);
      gemm_split(T, v_head.panels(), [&](int m0, int m1, int p0, int p1) {
        cpu::gemm_bf16(p_bf16.data(), sz(tp), m0, m1, v_head, p0, p1, out + off, sz(d), 1.0f, false);
      });
    }
  }

  // Encoder.
  int batch = 0;
  std::vector<float> enc_out;   // max_batch x T x d
  std::vector<float> cross_kv;  // layer x max_batch x {K, V} x T x d
  std::vector<float> col;       // im2col scratch
  std::vector<float> x, h, q, k, v, attn, scores, mlp;

  // Decoder. The self-attention cache of a slot is layer x {K, V} x
  // n_text_ctx x d, allocated on first use: in f32 (kv), or in half
  // precision (kv16) where half_kv, like the cross-attention keys/values.
  std::vector<std::vector<float>> kv;
  std::vector<std::vector<uint16_t>> kv16;  // per slot, where half_kv
  std::vector<float> dx, dh, dq, dk, dv, dattn, dscores, dmlp, dlogits_in;
  std::vector<AlignmentHead> collect;
  std::vector<std::vector<float>> collected;  // per item of the last decode

  // F16 models keep the cross-attention keys/values in half precision too
  // (half the bytes read per decoded token); cross_kv16 then replaces
  // cross_kv, same layout.
  bool half_kv = false;
  std::vector<uint16_t> cross_kv16;
  std::vector<float> kv_scratch;  // one layer's K and V in f32 (GEMM path)

  // The fused token step (decode_step): its stages, and per pool slot a
  // layer-normed copy of the rows and attention probabilities.
  std::unique_ptr<cpu::Stages> stages;
  std::vector<std::vector<float>> slot_norm, slot_probs;

  // Makes sure a slot's self-attention cache (`n` values) exists.
  void ensure_kv(int slot, size_t n) {
    if (half_kv) {
      if (kv16.size() < kv.size()) kv16.resize(kv.size());
      if (kv16[sz(slot)].empty()) kv16[sz(slot)].assign(n, 0);
    } else if (kv[sz(slot)].empty()) {
      kv[sz(slot)].assign(n, 0.0f);
    }
  }

  uint16_t* cross16(const HParams& hp, int layer, int b, int which) {
    const size_t td = sz(hp.n_audio_ctx) * sz(hp.n_text_state);
    return cross_kv16.data() + ((sz(layer) * static_cast<size_t>(enc_out.size() / td) + sz(b)) * 2 + sz(which)) * td;
  }

  float* cross(const HParams& hp, int layer, int b, int which) {
    const size_t td = sz(hp.n_audio_ctx) * sz(hp.n_text_state);
    return cross_kv.data() + ((sz(layer) * static_cast<size_t>(enc_out.size() / td) + sz(b)) * 2 + sz(which)) * td;
  }
};

CpuSession::CpuSession(std::shared_ptr<const Model> model, const SessionOptions& options, std::string fallback,
                       std::unique_ptr<State> state)
    : Session(std::move(model), options, std::move(fallback)), state_(std::move(state)) {}
CpuSession::~CpuSession() = default;

Result<std::unique_ptr<Session>> create_cpu_session(std::shared_ptr<const Model> model,
                                                    const SessionOptions& options) {
  SF_ASSIGN_OR_RETURN(SessionOptions opts, validate_session_options(model.get(), options));
  std::string fallback;
  opts.device = Device{.kind = Device::Kind::kCpu};
  opts.compute_type =
      resolve_cpu_compute_type(options.compute_type, model->stored_type() == WeightType::kF16, &fallback);
  auto state = std::make_unique<CpuSession::State>(opts.threads);
  const HParams& hp = model->hparams();
  const size_t td = sz(hp.n_audio_ctx) * sz(hp.n_audio_state);
  state->enc_out.assign(sz(opts.max_batch) * td, 0.0f);
  // f32 keeps every activation in f32; the other types keep the
  // cross-attention keys/values in half precision.
  state->half_kv = model->weights().tok_emb_h != nullptr && cpu::fast_f16() && opts.compute_type != ComputeType::kF32;
  if (opts.compute_type == ComputeType::kBF16 || opts.compute_type == ComputeType::kInt8) {
    state->lowp = cpu::prepared_weights(model, opts.compute_type);
  }
  if (state->half_kv) {
    state->cross_kv16.assign(sz(hp.n_text_layer) * sz(opts.max_batch) * 2 * td, 0);
  } else {
    state->cross_kv.assign(sz(hp.n_text_layer) * sz(opts.max_batch) * 2 * td, 0.0f);
  }
  state->kv.resize(sz(opts.kv_slots));
  return std::unique_ptr<Session>(new CpuSession(std::move(model), opts, std::move(fallback), std::move(state)));
}

int CpuSession::encoded_batch() const { return state_->batch; }

const float* CpuSession::encoder_output(int b) const {
  const HParams& hp = model_->hparams();
  return state_->enc_out.data() + sz(b) * sz(hp.n_audio_ctx) * sz(hp.n_audio_state);
}

Status CpuSession::encode(std::span<const float> mel, int batch) {
  const HParams& hp = model_->hparams();
  const Weights& w = model_->weights();
  if (batch < 1 || batch > options_.max_batch) {
    return invalid_argument("whisper encode: batch " + std::to_string(batch) + " outside 1.." +
                            std::to_string(options_.max_batch));
  }
  const int n_frames = 2 * hp.n_audio_ctx;
  const size_t per_window = sz(hp.n_mels) * sz(n_frames);
  if (mel.size() != per_window * sz(batch)) {
    return invalid_argument("whisper encode: expected " + std::to_string(per_window * sz(batch)) + " mel values (" +
                            std::to_string(batch) + " x " + std::to_string(hp.n_mels) + " x " + std::to_string(n_frames) +
                            "), got " + std::to_string(mel.size()));
  }
  openblas_set_num_threads(options_.threads);
  State& s = *state_;
  const int d = hp.n_audio_state;
  const int T = hp.n_audio_ctx;
  const int nh = hp.n_audio_head;
  const int dh = d / nh;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t td = sz(T) * sz(d);
  s.col.resize(std::max(sz(n_frames) * sz(hp.n_mels) * 3, sz(T) * sz(d) * 3));
  s.x.resize(sz(n_frames) * sz(d));
  s.h.resize(td);
  s.q.resize(td);
  s.k.resize(td);
  s.v.resize(td);
  s.attn.resize(td);
  s.scores.resize(sz(T) * sz(T));
  s.mlp.resize(td * 4);
  const cpu::PreparedWeights* lp = s.lowp.get();

  for (int b = 0; b < batch; ++b) {
    const float* m = mel.data() + sz(b) * per_window;
    // conv1 (k=3, pad 1) as im2col + GEMM, output time-major [frames, d].
    const int c1 = hp.n_mels * 3;
    for (int t = 0; t < n_frames; ++t) {
      float* row = s.col.data() + sz(t) * sz(c1);
      for (int c = 0; c < hp.n_mels; ++c) {
        const float* src = m + sz(c) * sz(n_frames);
        for (int k = 0; k < 3; ++k) {
          const int tt = t + k - 1;
          row[c * 3 + k] = (tt >= 0 && tt < n_frames) ? src[tt] : 0.0f;
        }
      }
    }
    if (lp != nullptr) {
      s.lowp_linear(s.col.data(), n_frames, c1, lp->conv1, w.conv1_b, d, s.x.data(), false);
    } else {
      linear(s.col.data(), n_frames, c1, w.conv1_w, w.conv1_b, d, s.x.data());
    }
    s.gelu(s.x.data(), sz(n_frames) * sz(d));
    // conv2 (k=3, stride 2, pad 1).
    const int c2 = d * 3;
    for (int t = 0; t < T; ++t) {
      float* row = s.col.data() + sz(t) * sz(c2);
      for (int k = 0; k < 3; ++k) {
        const int tt = 2 * t + k - 1;
        const float* src = s.x.data() + sz(tt) * sz(d);
        const bool inside = tt >= 0 && tt < n_frames;
        for (int c = 0; c < d; ++c) row[c * 3 + k] = inside ? src[c] : 0.0f;
      }
    }
    float* x = s.enc_out.data() + sz(b) * td;
    if (lp != nullptr) {
      s.lowp_linear(s.col.data(), T, c2, lp->conv2, w.conv2_b, d, x, false);
    } else {
      linear(s.col.data(), T, c2, w.conv2_w, w.conv2_b, d, x);
    }
    s.gelu(x, td);
    for (size_t i = 0; i < td; ++i) x[i] += w.enc_pos[i];

    for (size_t li = 0; li < w.enc.size(); ++li) {
      const EncoderLayerWeights& L = w.enc[li];
      s.layer_norm(x, s.h.data(), T, d, L.attn_ln_w, L.attn_ln_b);
      if (lp != nullptr) {
        const cpu::PreparedWeights::Layer& P = lp->enc[li];
        s.lowp_linear(s.h.data(), T, d, P.q, L.q_b, d, s.q.data(), false);
        s.lowp_linear(s.h.data(), T, d, P.k, nullptr, d, s.k.data(), false);
        s.lowp_linear(s.h.data(), T, d, P.v, L.v_b, d, s.v.data(), false);
        s.attention_bf16(s.q.data(), s.k.data(), s.v.data(), T, d, nh, scale, s.attn.data());
        s.lowp_linear(s.attn.data(), T, d, P.o, L.o_b, d, x, true);
        s.layer_norm(x, s.h.data(), T, d, L.mlp_ln_w, L.mlp_ln_b);
        s.lowp_linear(s.h.data(), T, d, P.fc1, L.fc1_b, 4 * d, s.mlp.data(), false);
        s.gelu(s.mlp.data(), td * 4);
        s.lowp_linear(s.mlp.data(), T, 4 * d, P.fc2, L.fc2_b, d, x, true);
        continue;
      }
      linear(s.h.data(), T, d, L.q_w, L.q_b, d, s.q.data());
      linear(s.h.data(), T, d, L.k_w, nullptr, d, s.k.data());
      linear(s.h.data(), T, d, L.v_w, L.v_b, d, s.v.data());
      for (int hd = 0; hd < nh; ++hd) {
        const int off = hd * dh;
        gemm_nt(T, T, dh, s.q.data() + off, d, s.k.data() + off, d, s.scores.data(), T, scale);
        s.softmax_rows(s.scores.data(), T, T, sz(T));
        gemm_nn(T, dh, T, s.scores.data(), T, s.v.data() + off, d, s.attn.data() + off, d);
      }
      linear_residual(s.attn.data(), T, d, L.o_w, L.o_b, d, x);
      s.layer_norm(x, s.h.data(), T, d, L.mlp_ln_w, L.mlp_ln_b);
      linear(s.h.data(), T, d, L.fc1_w, L.fc1_b, 4 * d, s.mlp.data());
      s.gelu(s.mlp.data(), td * 4);
      linear_residual(s.mlp.data(), T, 4 * d, L.fc2_w, L.fc2_b, d, x);
    }
    s.layer_norm(x, x, T, d, w.enc_ln_w, w.enc_ln_b);
  }
  s.batch = batch;

  // Cross-attention keys/values depend only on the encoder output: compute
  // them once per window instead of once per decoded token.
  for (int l = 0; l < hp.n_text_layer; ++l) {
    const DecoderLayerWeights& L = w.dec[sz(l)];
    for (int b = 0; b < batch; ++b) {
      const float* e = s.enc_out.data() + sz(b) * td;
      if (lp != nullptr) {
        float* k = s.half_kv ? (s.kv_scratch.resize(2 * td), s.kv_scratch.data()) : s.cross(hp, l, b, 0);
        float* v = s.half_kv ? k + td : s.cross(hp, l, b, 1);
        s.lowp_linear(e, T, d, lp->cross_kv[sz(l)][0], nullptr, d, k, false);
        s.lowp_linear(e, T, d, lp->cross_kv[sz(l)][1], L.cross_v_b, d, v, false);
        if (s.half_kv) {
          cpu::floats_to_half(k, s.cross16(hp, l, b, 0), td);
          cpu::floats_to_half(v, s.cross16(hp, l, b, 1), td);
        }
      } else if (s.half_kv) {
        s.kv_scratch.resize(2 * td);
        linear(e, T, d, L.cross_k_w, nullptr, d, s.kv_scratch.data());
        linear(e, T, d, L.cross_v_w, L.cross_v_b, d, s.kv_scratch.data() + td);
        cpu::floats_to_half(s.kv_scratch.data(), s.cross16(hp, l, b, 0), td);
        cpu::floats_to_half(s.kv_scratch.data() + td, s.cross16(hp, l, b, 1), td);
      } else {
        linear(e, T, d, L.cross_k_w, nullptr, d, s.cross(hp, l, b, 0));
        linear(e, T, d, L.cross_v_w, L.cross_v_b, d, s.cross(hp, l, b, 1));
      }
    }
  }
  return {};
}

namespace {

constexpr int kFewRows = 8;  // decode: per-item query rows handled without GEMM

// What a projection does with its output columns.
enum class Out { kSet, kResidual, kGelu };  // y = p, y += p, y = gelu(p)

// Columns [n0, n1) of the projection p = x W^T + b of `rows` rows (width
// k) into y (rows x out): over the F16 copy of W where there is one.
void proj_cols(const float* x, int rows, int k, const float* w, const uint16_t* wh, const float* b, int out, float* y,
               int n0, int n1, Out mode) {
  if (n0 >= n1) return;
  if (mode == Out::kResidual && b != nullptr) {
    for (int r = 0; r < rows; ++r) {
      float* row = y + sz(r) * sz(out);
      for (int n = n0; n < n1; ++n) row[n] += b[n];
    }
  }
  const bool accumulate = mode == Out::kResidual;
  if (wh != nullptr) {
    cpu::gemm_f16(x, rows, k, wh, n0, n1, y, sz(out), accumulate);
  } else {
    cpu::gemm_f32(x, rows, k, w, n0, n1, y, sz(out), accumulate);
  }
  if (mode == Out::kResidual) return;
  for (int r = 0; r < rows; ++r) {
    float* row = y + sz(r) * sz(out);
    if (b != nullptr) {
      for (int n = n0; n < n1; ++n) row[n] += b[n];
    }
    if (mode == Out::kGelu) cpu::gelu(row + n0, sz(n1 - n0));
  }
}

// How many chunks a stage of n output columns is cut into: one per thread
// would leave a thread that is slow for a moment holding up the others; a
// few per thread balance that. One thread: one chunk.
int column_chunks(int n, int threads) { return threads == 1 ? 1 : std::clamp(n / 64, 1, 4 * threads); }

// The first column of chunk c of `chunks` over n columns (multiples of 16,
// so no two threads write one cache line of the output).
int chunk_begin(int n, int chunks, int c) {
  return c >= chunks ? n : static_cast<int>((static_cast<long>(n) * c / chunks) & ~15L);
}

// One decode() whose items all have few rows, as one parallel region over
// the pool: per layer eight stages (q/k/v, self-attention, its output,
// cross q, cross-attention, its output, fc1 with GELU, fc2), each split by
// output columns or by (item, group of heads), then the vocabulary
// projection. Each
// LayerNorm is computed by every thread that takes part in the stage that
// reads it, into its own buffer (d floats per row: cheaper than a stage).
// s.dx holds the embedded rows; logits receive out_rows x n_vocab.
void decode_step(CpuSession::State& s, const HParams& hp, const Weights& w, std::span<const DecodeItem> items,
                 const std::vector<int>& row_start, int rows, int max_tokens,
                 const std::vector<std::vector<int>>& record, bool all_logits, float* logits) {
  const int d = hp.n_text_state;
  const int T = hp.n_audio_ctx;
  const int nh = hp.n_text_head;
  const int dh = d / nh;
  const int ctx = hp.n_text_ctx;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t slot_layer = 2 * sz(ctx) * sz(d);
  const int threads = s.pool.threads();
  const int n_items = static_cast<int>(items.size());

  const int stage_count = 8 * hp.n_text_layer + 1;
  if (s.stages == nullptr || s.stages->capacity() < stage_count) s.stages = std::make_unique<cpu::Stages>(stage_count);
  s.stages->reset(stage_count);
  s.slot_norm.resize(sz(threads));
  s.slot_probs.resize(sz(threads));
  for (int t = 0; t < threads; ++t) {
    s.slot_norm[sz(t)].resize(sz(rows) * sz(d));
    s.slot_probs[sz(t)].resize(sz(nh) * sz(max_tokens) * sz(std::max(T, ctx)));
  }
  const int d_chunks = column_chunks(d, threads);
  const int qkv_chunks = column_chunks(3 * d, threads);
  const int fc1_chunks = column_chunks(4 * d, threads);
  const int vocab_chunks = column_chunks(hp.n_vocab, threads);
  // Attention: the heads of an item in one group per thread (a sweep over
  // whole cache rows; see attention_heads_f16).
  const int groups = std::min(nh, threads);
  const int head_chunks = n_items * groups;
  auto group_begin = [&](int g) { return nh * g / groups; };
  float* dx = s.dx.data();
  float* dq = s.dq.data();
  float* dk = s.dk.data();
  float* dv = s.dv.data();
  float* dattn = s.dattn.data();
  float* dmlp = s.dmlp.data();

  s.pool.run_region([&](int slot) {
    cpu::Stages& st = *s.stages;
    float* norm = s.slot_norm[sz(slot)].data();
    float* probs = s.slot_probs[sz(slot)].data();
    int stage = 0;
    // A stage over the LayerNorm of dx: normed on this thread's first chunk.
    auto normed_stage = [&](const float* ln_w, const float* ln_b, int chunks, auto&& body) {
      bool normed = false;
      st.run(stage++, chunks, [&](int c) {
        if (!normed) {
          cpu::layer_norm(dx, norm, rows, d, ln_w, ln_b);
          normed = true;
        }
        body(c);
      });
    };
    // A stage of one projection split by output columns.
    auto columns = [&](int chunks, int out, auto&& body) {
      return [&, chunks, out](int c) { body(chunk_begin(out, chunks, c), chunk_begin(out, chunks, c + 1)); };
    };

    for (int l = 0; l < hp.n_text_layer; ++l) {
      const DecoderLayerWeights& L = w.dec[sz(l)];
      const EncoderLayerWeights& A = L.self;
      normed_stage(A.attn_ln_w, A.attn_ln_b, qkv_chunks, columns(qkv_chunks, 3 * d, [&](int c0, int c1) {
                     const float* mw[3] = {A.q_w, A.k_w, A.v_w};
                     const uint16_t* mh[3] = {A.q_h, A.k_h, A.v_h};
                     const float* mb[3] = {A.q_b, nullptr, A.v_b};
                     float* my[3] = {dq, dk, dv};
                     for (int m = 0; m < 3; ++m) {
                       const int lo = std::max(c0, m * d) - m * d;
                       const int hi = std::min(c1, (m + 1) * d) - m * d;
                       proj_cols(norm, rows, d, mw[m], mh[m], mb[m], d, my[m], lo, hi, Out::kSet);
                     }
                   }));
      st.run(stage++, head_chunks, [&](int c) {
        const DecodeItem& it = items[sz(c / groups)];
        const int h0 = group_begin(c % groups);
        const int hn = group_begin(c % groups + 1) - h0;
        const size_t off = sz(h0) * sz(dh);
        const size_t width = sz(hn) * sz(dh);
        const int n = static_cast<int>(it.tokens.size());
        const int len = it.n_past + n;
        const size_t r0 = sz(row_start[sz(c / groups)]) * sz(d);
        // These heads' columns of the new keys/values join the cache here.
        if (s.half_kv) {
          uint16_t* kc = s.kv16[sz(it.slot)].data() + sz(l) * slot_layer;
          uint16_t* vc = kc + sz(ctx) * sz(d);
          for (int r = 0; r < n; ++r) {
            const size_t at = (sz(it.n_past) + sz(r)) * sz(d) + off;
            cpu::floats_to_half(dk + r0 + sz(r) * sz(d) + off, kc + at, width);
            cpu::floats_to_half(dv + r0 + sz(r) * sz(d) + off, vc + at, width);
          }
          cpu::attention_heads_f16(dq + r0 + off, sz(d), kc + off, vc + off, sz(d), n, len, hn, dh, scale, true,
                                   dattn + r0 + off, sz(d), probs);
        } else {
          float* kc = s.kv[sz(it.slot)].data() + sz(l) * slot_layer;
          float* vc = kc + sz(ctx) * sz(d);
          for (int r = 0; r < n; ++r) {
            const size_t at = (sz(it.n_past) + sz(r)) * sz(d) + off;
            std::copy_n(dk + r0 + sz(r) * sz(d) + off, width, kc + at);
            std::copy_n(dv + r0 + sz(r) * sz(d) + off, width, vc + at);
          }
          for (int h = 0; h < hn; ++h) {
            const size_t ho = off + sz(h) * sz(dh);
            cpu::attention_rows(dq + r0 + ho, sz(d), kc + ho, vc + ho, sz(d), n, len, dh, scale, true, dattn + r0 + ho,
                                sz(d), probs);
          }
        }
      });
      st.run(stage++, d_chunks, columns(d_chunks, d, [&](int n0, int n1) {
               proj_cols(dattn, rows, d, A.o_w, A.o_h, A.o_b, d, dx, n0, n1, Out::kResidual);
             }));

      normed_stage(L.cross_ln_w, L.cross_ln_b, d_chunks, columns(d_chunks, d, [&](int n0, int n1) {
                     proj_cols(norm, rows, d, L.cross_q_w, L.cross_q_h, L.cross_q_b, d, dq, n0, n1, Out::kSet);
                   }));
      st.run(stage++, head_chunks, [&](int c) {
        const size_t i = sz(c / groups);
        const DecodeItem& it = items[i];
        const int h0 = group_begin(c % groups);
        const int hn = group_begin(c % groups + 1) - h0;
        const size_t off = sz(h0) * sz(dh);
        const int n = static_cast<int>(it.tokens.size());
        const size_t r0 = sz(row_start[i]) * sz(d);
        const size_t plane = sz(n) * sz(T);  // one head's probabilities
        if (s.half_kv) {
          cpu::attention_heads_f16(dq + r0 + off, sz(d), s.cross16(hp, l, it.batch_index, 0) + off,
                                   s.cross16(hp, l, it.batch_index, 1) + off, sz(d), n, T, hn, dh, scale, false,
                                   dattn + r0 + off, sz(d), probs);
        } else {
          for (int h = 0; h < hn; ++h) {
            const size_t ho = off + sz(h) * sz(dh);
            cpu::attention_rows(dq + r0 + ho, sz(d), s.cross(hp, l, it.batch_index, 0) + ho,
                                s.cross(hp, l, it.batch_index, 1) + ho, sz(d), n, T, dh, scale, false,
                                dattn + r0 + ho, sz(d), probs + sz(h) * plane);
          }
        }
        for (int h = 0; h < hn; ++h) {
          if (const int idx = record[sz(l)][sz(h0 + h)]; idx >= 0) {
            std::copy_n(probs + sz(h) * plane, plane, s.collected[i].data() + sz(idx) * plane);
          }
        }
      });
      st.run(stage++, d_chunks, columns(d_chunks, d, [&](int n0, int n1) {
               proj_cols(dattn, rows, d, L.cross_o_w, L.cross_o_h, L.cross_o_b, d, dx, n0, n1, Out::kResidual);
             }));

      normed_stage(A.mlp_ln_w, A.mlp_ln_b, fc1_chunks, columns(fc1_chunks, 4 * d, [&](int n0, int n1) {
                     proj_cols(norm, rows, d, A.fc1_w, A.fc1_h, A.fc1_b, 4 * d, dmlp, n0, n1, Out::kGelu);
                   }));
      st.run(stage++, d_chunks, columns(d_chunks, d, [&](int n0, int n1) {
               proj_cols(dmlp, rows, 4 * d, A.fc2_w, A.fc2_h, A.fc2_b, d, dx, n0, n1, Out::kResidual);
             }));
    }

    // Only the rows whose logits are wanted go through the final norm and
    // the (large) vocabulary projection.
    const int out_rows = all_logits ? rows : n_items;
    bool normed = false;
    st.run(stage++, vocab_chunks, columns(vocab_chunks, hp.n_vocab, [&](int n0, int n1) {
             if (!normed) {
               if (all_logits) {
                 cpu::layer_norm(dx, norm, rows, d, w.dec_ln_w, w.dec_ln_b);
               } else {
                 for (int i = 0; i < n_items; ++i) {
                   const size_t last = sz(row_start[sz(i)]) + items[sz(i)].tokens.size() - 1;
                   cpu::layer_norm(dx + last * sz(d), norm + sz(i) * sz(d), 1, d, w.dec_ln_w, w.dec_ln_b);
                 }
               }
               normed = true;
             }
             proj_cols(norm, out_rows, d, w.tok_emb, w.tok_emb_h, nullptr, hp.n_vocab, logits, n0, n1, Out::kSet);
           }));
  });
}

}  // namespace

Status CpuSession::decode(std::span<const DecodeItem> items, std::vector<float>* logits, bool all_logits) {
  const HParams& hp = model_->hparams();
  const Weights& w = model_->weights();
  State& s = *state_;
  if (s.batch == 0) return invalid_argument("whisper decode: called before encode()");
  if (items.empty()) return invalid_argument("whisper decode: no items");
  if (logits == nullptr) return invalid_argument("whisper decode: no logits output");
  int rows = 0;
  std::vector<int> row_start(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const DecodeItem& it = items[i];
    const std::string where = "whisper decode: item " + std::to_string(i) + ": ";
    if (it.batch_index < 0 || it.batch_index >= s.batch) {
      return invalid_argument(where + "batch index " + std::to_string(it.batch_index) + " outside 0.." +
                              std::to_string(s.batch - 1));
    }
    if (it.slot < 0 || it.slot >= options_.kv_slots) {
      return invalid_argument(where + "slot " + std::to_string(it.slot) + " outside 0.." +
                              std::to_string(options_.kv_slots - 1));
    }
    if (it.tokens.empty()) return invalid_argument(where + "no tokens");
    if (it.n_past < 0 || it.n_past + static_cast<long>(it.tokens.size()) > hp.n_text_ctx) {
      return invalid_argument(where + "positions " + std::to_string(it.n_past) + ".." +
                              std::to_string(it.n_past + static_cast<long>(it.tokens.size())) + " exceed the context of " +
                              std::to_string(hp.n_text_ctx));
    }
    for (int32_t tok : it.tokens) {
      if (tok < 0 || tok >= hp.n_vocab) {
        return invalid_argument(where + "token " + std::to_string(tok) + " outside the vocabulary (" +
                                std::to_string(hp.n_vocab) + ")");
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (items[j].slot == it.slot) return invalid_argument(where + "slot " + std::to_string(it.slot) + " used twice");
    }
    row_start[i] = rows;
    rows += static_cast<int>(it.tokens.size());
  }

  openblas_set_num_threads(options_.threads);
  const int d = hp.n_text_state;
  const int T = hp.n_audio_ctx;
  const int nh = hp.n_text_head;
  const int dh = d / nh;
  const int ctx = hp.n_text_ctx;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const size_t rd = sz(rows) * sz(d);
  const size_t slot_layer = 2 * sz(ctx) * sz(d);
  s.dx.resize(rd);
  s.dh.resize(rd);
  s.dq.resize(rd);
  s.dk.resize(rd);
  s.dv.resize(rd);
  s.dattn.resize(rd);
  s.dmlp.resize(rd * 4);
  int max_tokens = 0;
  for (const auto& it : items) max_tokens = std::max(max_tokens, static_cast<int>(it.tokens.size()));
  s.dscores.resize(sz(nh) * sz(max_tokens) * sz(std::max(T, ctx)));
  for (const auto& it : items) s.ensure_kv(it.slot, sz(hp.n_text_layer) * slot_layer);

  // Which heads to record, per layer.
  std::vector<std::vector<int>> record(sz(hp.n_text_layer));  // layer -> head -> index in collect
  for (auto& r : record) r.assign(sz(nh), -1);
  for (size_t i = 0; i < s.collect.size(); ++i) record[sz(s.collect[i].layer)][sz(s.collect[i].head)] = static_cast<int>(i);
  s.collected.assign(s.collect.empty() ? 0 : items.size(), {});
  for (size_t i = 0; i < s.collected.size(); ++i) {
    s.collected[i].assign(s.collect.size() * items[i].tokens.size() * sz(T), 0.0f);
  }

  for (size_t i = 0; i < items.size(); ++i) {
    const DecodeItem& it = items[i];
    for (size_t j = 0; j < it.tokens.size(); ++j) {
      float* row = s.dx.data() + (sz(row_start[i]) + j) * sz(d);
      const float* te = w.tok_emb + sz(it.tokens[j]) * sz(d);
      const float* pe = w.dec_pos + (sz(it.n_past) + j) * sz(d);
      for (int c = 0; c < d; ++c) row[c] = te[c] + pe[c];
    }
  }

  if (rows <= State::kStreamRowsMax && max_tokens <= kFewRows && cpu::fast_f16()) {
    logits->resize(sz(all_logits ? rows : static_cast<int>(items.size())) * sz(hp.n_vocab));
    decode_step(s, hp, w, items, row_start, rows, max_tokens, record, all_logits, logits->data());
    return {};
  }

  for (int l = 0; l < hp.n_text_layer; ++l) {
    const DecoderLayerWeights& L = w.dec[sz(l)];
    // Masked self-attention over the slot's cache.
    s.layer_norm(s.dx.data(), s.dh.data(), rows, d, L.self.attn_ln_w, L.self.attn_ln_b);
    s.proj(s.dh.data(), rows, d, L.self.q_w, L.self.q_h, L.self.q_b, d, s.dq.data(), false);
    s.proj(s.dh.data(), rows, d, L.self.k_w, L.self.k_h, nullptr, d, s.dk.data(), false);
    s.proj(s.dh.data(), rows, d, L.self.v_w, L.self.v_h, L.self.v_b, d, s.dv.data(), false);
    for (size_t i = 0; i < items.size(); ++i) {
      const DecodeItem& it = items[i];
      const int n = static_cast<int>(it.tokens.size());
      const int len = it.n_past + n;
      const float* new_k = s.dk.data() + sz(row_start[i]) * sz(d);
      const float* new_v = s.dv.data() + sz(row_start[i]) * sz(d);
      const float* kc = nullptr;  // f32 keys/values for the paths below
      const float* vc = nullptr;
      uint16_t* kc16 = nullptr;
      uint16_t* vc16 = nullptr;
      if (s.half_kv) {
        kc16 = s.kv16[sz(it.slot)].data() + sz(l) * slot_layer;
        vc16 = kc16 + sz(ctx) * sz(d);
        cpu::floats_to_half(new_k, kc16 + sz(it.n_past) * sz(d), sz(n) * sz(d));
        cpu::floats_to_half(new_v, vc16 + sz(it.n_past) * sz(d), sz(n) * sz(d));
        if (n > kFewRows) {
          // The GEMM path wants f32 keys/values: widen the visible ones.
          const size_t ld = sz(len) * sz(d);
          s.kv_scratch.resize(std::max(s.kv_scratch.size(), 2 * ld));
          cpu::halfs_to_float(kc16, s.kv_scratch.data(), ld);
          cpu::halfs_to_float(vc16, s.kv_scratch.data() + ld, ld);
          kc = s.kv_scratch.data();
          vc = kc + ld;
        }
      } else {
        float* k32 = s.kv[sz(it.slot)].data() + sz(l) * slot_layer;
        float* v32 = k32 + sz(ctx) * sz(d);
        std::memcpy(k32 + sz(it.n_past) * sz(d), new_k, sz(n) * sz(d) * sizeof(float));
        std::memcpy(v32 + sz(it.n_past) * sz(d), new_v, sz(n) * sz(d) * sizeof(float));
        kc = k32;
        vc = v32;
      }
      const float* q = s.dq.data() + sz(row_start[i]) * sz(d);
      float* o = s.dattn.data() + sz(row_start[i]) * sz(d);
      if (n <= kFewRows) {
        // Few queries: dot products and axpys straight over the cache beat
        // GEMM calls that would first pack the keys; heads run in parallel.
        float* scores = s.dscores.data();
        s.pool.parallel_for(sz(nh), [&](size_t h0, size_t h1) {
          for (size_t hd = h0; hd < h1; ++hd) {
            const size_t off = hd * sz(dh);
            if (kc16 != nullptr) {
              cpu::attention_rows_f16(q + off, sz(d), kc16 + off, vc16 + off, sz(d), n, len, dh, scale, true, o + off,
                                      sz(d), scores + hd * sz(n) * sz(len));
            } else {
              cpu::attention_rows(q + off, sz(d), kc + off, vc + off, sz(d), n, len, dh, scale, true, o + off, sz(d),
                                  scores + hd * sz(n) * sz(len));
            }
          }
        });
        continue;
      }
      for (int hd = 0; hd < nh; ++hd) {
        const int off = hd * dh;
        gemm_nt(n, len, dh, q + off, d, kc + off, d, s.dscores.data(), len, scale);
        for (int r = 0; r < n; ++r) {
          float* srow = s.dscores.data() + sz(r) * sz(len);
          const int visible = it.n_past + r + 1;
          std::fill(srow + visible, srow + len, -INFINITY);
          s.softmax_rows(srow, 1, len, sz(len));
        }
        gemm_nn(n, dh, len, s.dscores.data(), len, vc + off, d, o + off, d);
      }
    }
    s.proj(s.dattn.data(), rows, d, L.self.o_w, L.self.o_h, L.self.o_b, d, s.dx.data(), true);

    // Cross-attention over the window's precomputed keys/values.
    s.layer_norm(s.dx.data(), s.dh.data(), rows, d, L.cross_ln_w, L.cross_ln_b);
    s.proj(s.dh.data(), rows, d, L.cross_q_w, L.cross_q_h, L.cross_q_b, d, s.dq.data(), false);
    for (size_t i = 0; i < items.size(); ++i) {
      const DecodeItem& it = items[i];
      const int n = static_cast<int>(it.tokens.size());
      const float* q = s.dq.data() + sz(row_start[i]) * sz(d);
      float* o = s.dattn.data() + sz(row_start[i]) * sz(d);
      const float* kc = nullptr;
      const float* vc = nullptr;
      if (s.half_kv && n > kFewRows) {
        // The GEMM path wants f32 keys/values: widen this window's layer.
        const size_t td = sz(T) * sz(d);
        s.kv_scratch.resize(2 * td);
        cpu::halfs_to_float(s.cross16(hp, l, it.batch_index, 0), s.kv_scratch.data(), td);
        cpu::halfs_to_float(s.cross16(hp, l, it.batch_index, 1), s.kv_scratch.data() + td, td);
        kc = s.kv_scratch.data();
        vc = kc + td;
      } else if (!s.half_kv) {
        kc = s.cross(hp, l, it.batch_index, 0);
        vc = s.cross(hp, l, it.batch_index, 1);
      }
      if (n <= kFewRows) {
        float* scores = s.dscores.data();
        s.pool.parallel_for(sz(nh), [&](size_t h0, size_t h1) {
          for (size_t hd = h0; hd < h1; ++hd) {
            const size_t off = hd * sz(dh);
            if (s.half_kv) {
              cpu::attention_rows_f16(q + off, sz(d), s.cross16(hp, l, it.batch_index, 0) + off,
                                      s.cross16(hp, l, it.batch_index, 1) + off, sz(d), n, T, dh, scale, false,
                                      o + off, sz(d), scores + hd * sz(n) * sz(T));
            } else {
              cpu::attention_rows(q + off, sz(d), kc + off, vc + off, sz(d), n, T, dh, scale, false, o + off, sz(d),
                                  scores + hd * sz(n) * sz(T));
            }
          }
        });
        for (int hd = 0; hd < nh; ++hd) {
          if (const int idx = record[sz(l)][sz(hd)]; idx >= 0) {
            std::memcpy(s.collected[i].data() + sz(idx) * sz(n) * sz(T), scores + sz(hd) * sz(n) * sz(T),
                        sz(n) * sz(T) * sizeof(float));
          }
        }
        continue;
      }
      for (int hd = 0; hd < nh; ++hd) {
        const int off = hd * dh;
        gemm_nt(n, T, dh, q + off, d, kc + off, d, s.dscores.data(), T, scale);
        s.softmax_rows(s.dscores.data(), n, T, sz(T));
        if (const int idx = record[sz(l)][sz(hd)]; idx >= 0) {
          std::memcpy(s.collected[i].data() + sz(idx) * sz(n) * sz(T), s.dscores.data(), sz(n) * sz(T) * sizeof(float));
        }
        gemm_nn(n, dh, T, s.dscores.data(), T, vc + off, d, o + off, d);
      }
    }
    s.proj(s.dattn.data(), rows, d, L.cross_o_w, L.cross_o_h, L.cross_o_b, d, s.dx.data(), true);

    s.layer_norm(s.dx.data(), s.dh.data(), rows, d, L.self.mlp_ln_w, L.self.mlp_ln_b);
    s.proj(s.dh.data(), rows, d, L.self.fc1_w, L.self.fc1_h, L.self.fc1_b, 4 * d, s.dmlp.data(), false);
    s.gelu(s.dmlp.data(), rd * 4);
    s.proj(s.dmlp.data(), rows, 4 * d, L.self.fc2_w, L.self.fc2_h, L.self.fc2_b, d, s.dx.data(), true);
  }

  // Only the rows whose logits are wanted go through the final norm and the
  // (large) vocabulary projection.
  int out_rows = all_logits ? rows : static_cast<int>(items.size());
  s.dlogits_in.resize(sz(out_rows) * sz(d));
  if (all_logits) {
    s.layer_norm(s.dx.data(), s.dlogits_in.data(), rows, d, w.dec_ln_w, w.dec_ln_b);
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      const size_t last = sz(row_start[i]) + items[i].tokens.size() - 1;
      s.layer_norm(s.dx.data() + last * sz(d), s.dlogits_in.data() + i * sz(d), 1, d, w.dec_ln_w, w.dec_ln_b);
    }
  }
  logits->resize(sz(out_rows) * sz(hp.n_vocab));
  s.proj(s.dlogits_in.data(), out_rows, d, w.tok_emb, w.tok_emb_h, nullptr, hp.n_vocab, logits->data(), false);
  return {};
}

void CpuSession::copy_kv(int src_slot, int dst_slot, int n) {
  const HParams& hp = model_->hparams();
  if (src_slot == dst_slot || src_slot < 0 || dst_slot < 0 || src_slot >= options_.kv_slots ||
      dst_slot >= options_.kv_slots || n <= 0) {
    return;
  }
  const size_t slot_layer = 2 * sz(hp.n_text_ctx) * sz(hp.n_text_state);
  const size_t count = sz(std::min(n, hp.n_text_ctx)) * sz(hp.n_text_state);
  auto copy = [&](auto& caches) {
    if (caches.size() <= sz(std::max(src_slot, dst_slot))) return;
    auto& src = caches[sz(src_slot)];
    auto& dst = caches[sz(dst_slot)];
    if (src.empty()) return;
    if (dst.empty()) dst.assign(src.size(), 0);
    for (int l = 0; l < hp.n_text_layer; ++l) {
      for (int kv = 0; kv < 2; ++kv) {
        const size_t off = sz(l) * slot_layer + sz(kv) * sz(hp.n_text_ctx) * sz(hp.n_text_state);
        std::copy_n(src.data() + off, count, dst.data() + off);
      }
    }
  };
  if (state_->half_kv) {
    copy(state_->kv16);
  } else {
    copy(state_->kv);
  }
}

void CpuSession::reset_kv(int slot) {
  if (slot < 0 || slot >= options_.kv_slots) return;
  if (sz(slot) < state_->kv.size()) std::fill(state_->kv[sz(slot)].begin(), state_->kv[sz(slot)].end(), 0.0f);
  if (sz(slot) < state_->kv16.size()) std::fill(state_->kv16[sz(slot)].begin(), state_->kv16[sz(slot)].end(), 0);
}

Status CpuSession::set_collect_cross_attention(std::vector<AlignmentHead> heads) {
  const HParams& hp = model_->hparams();
  for (const auto& h : heads) {
    if (h.layer < 0 || h.layer >= hp.n_text_layer || h.head < 0 || h.head >= hp.n_text_head) {
      return invalid_argument("whisper session: alignment head (" + std::to_string(h.layer) + ", " +
                              std::to_string(h.head) + ") outside the decoder's " + std::to_string(hp.n_text_layer) +
                              " layers x " + std::to_string(hp.n_text_head) + " heads");
    }
  }
  state_->collect = std::move(heads);
  state_->collected.clear();
  return {};
}

std::span<const float> CpuSession::cross_attention(int item) const {
  if (item < 0 || sz(item) >= state_->collected.size()) return {};
  return state_->collected[sz(item)];
}

}  // namespace sf::asr::whisper
