#include "asr/whisper/cpu/prepared.h"

#include <map>
#include <mutex>
#include <utility>

namespace sf::asr::whisper::cpu {

namespace {

size_t matrix_bytes(const LowpMatrix& m) {
  return m.bf16.data.size() * sizeof(uint16_t) + m.int8.data.size() + m.int8.scale.size() * sizeof(float) +
         m.int8.col_sum.size() * sizeof(int32_t);
}

LowpMatrix pack(const float* w, int n, int k, bool int8) {
  LowpMatrix m;
  if (int8) {
    pack_int8_nk(w, n, k, static_cast<size_t>(k), &m.int8);
  } else {
    pack_bf16_nk(w, n, k, static_cast<size_t>(k), &m.bf16);
  }
  return m;
}

std::shared_ptr<PreparedWeights> prepare(const Model& model, ComputeType type) {
  auto p = std::make_shared<PreparedWeights>();
  p->type = type;
  const HParams& hp = model.hparams();
  const Weights& w = model.weights();
  const int d = hp.n_audio_state;
  const bool int8 = type == ComputeType::kInt8;
  p->conv1 = pack(w.conv1_w, d, hp.n_mels * 3, false);
  p->conv2 = pack(w.conv2_w, d, d * 3, false);
  p->bytes += matrix_bytes(p->conv1) + matrix_bytes(p->conv2);
  for (const EncoderLayerWeights& L : w.enc) {
    PreparedWeights::Layer l;
    l.q = pack(L.q_w, d, d, int8);
    l.k = pack(L.k_w, d, d, int8);
    l.v = pack(L.v_w, d, d, int8);
    l.o = pack(L.o_w, d, d, int8);
    l.fc1 = pack(L.fc1_w, 4 * d, d, int8);
    l.fc2 = pack(L.fc2_w, d, 4 * d, int8);
    for (const LowpMatrix* m : {&l.q, &l.k, &l.v, &l.o, &l.fc1, &l.fc2}) p->bytes += matrix_bytes(*m);
    p->enc.push_back(std::move(l));
  }
  for (const DecoderLayerWeights& L : w.dec) {
    std::array<LowpMatrix, 2> kv = {pack(L.cross_k_w, hp.n_text_state, d, int8),
                                    pack(L.cross_v_w, hp.n_text_state, d, int8)};
    p->bytes += matrix_bytes(kv[0]) + matrix_bytes(kv[1]);
    p->cross_kv.push_back(std::move(kv));
  }
  return p;
}

}  // namespace

std::shared_ptr<const PreparedWeights> prepared_weights(const std::shared_ptr<const Model>& model, ComputeType type) {
  static std::mutex mu;
  static std::map<std::pair<const Model*, ComputeType>, std::weak_ptr<const PreparedWeights>> cache;
  // Preparing takes a while (seconds for large models); one preparation per
  // key, so concurrent callers wait for the first instead of doing it too.
  std::lock_guard<std::mutex> lock(mu);
  std::erase_if(cache, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = cache[{model.get(), type}];
  if (auto p = slot.lock()) return p;
  // Keep the model alive as long as its prepared weights: the cache key is
  // its address.
  std::shared_ptr<PreparedWeights> fresh = prepare(*model, type);
  std::shared_ptr<const Model> owner = model;
  std::shared_ptr<const PreparedWeights> held(fresh.get(), [fresh, owner](const PreparedWeights*) mutable {
    fresh.reset();
    owner.reset();
  });
  slot = held;
  return held;
}

}  // namespace sf::asr::whisper::cpu
