// Writes small Whisper-shaped models (random weights, fake hyperparameters)
// in the Hugging Face safetensors layout and the whisper.cpp ggml layout,
// for loader and session tests. Both writers take the same values, so the
// two formats of one model must load to identical weights.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "asr/whisper/model/model.h"

namespace sf::asr::whisper::testing {

struct TensorSpec {
  std::string hf_name;  // without the "model." prefix
  std::string ggml_name;
  std::vector<int64_t> shape;
};

inline HParams small_hparams() {
  HParams hp;
  hp.n_vocab = 100;
  hp.n_mels = 8;
  hp.n_audio_ctx = 8;
  hp.n_audio_state = 16;
  hp.n_audio_head = 2;
  hp.n_audio_layer = 2;
  hp.n_text_ctx = 12;
  hp.n_text_state = 16;
  hp.n_text_head = 2;
  hp.n_text_layer = 2;
  return hp;
}

inline std::vector<TensorSpec> tensor_specs(const HParams& hp) {
  const int64_t d = hp.n_audio_state;
  std::vector<TensorSpec> s = {
      {"encoder.conv1.weight", "encoder.conv1.weight", {d, hp.n_mels, 3}},
      {"encoder.conv1.bias", "encoder.conv1.bias", {d}},
      {"encoder.conv2.weight", "encoder.conv2.weight", {d, d, 3}},
      {"encoder.conv2.bias", "encoder.conv2.bias", {d}},
      {"encoder.embed_positions.weight", "encoder.positional_embedding", {hp.n_audio_ctx, d}},
      {"encoder.layer_norm.weight", "encoder.ln_post.weight", {d}},
      {"encoder.layer_norm.bias", "encoder.ln_post.bias", {d}},
      {"decoder.embed_tokens.weight", "decoder.token_embedding.weight", {hp.n_vocab, d}},
      {"decoder.embed_positions.weight", "decoder.positional_embedding", {hp.n_text_ctx, d}},
      {"decoder.layer_norm.weight", "decoder.ln.weight", {d}},
      {"decoder.layer_norm.bias", "decoder.ln.bias", {d}},
  };
  auto attn = [&](const std::string& hp_pre, const std::string& gg_pre, const std::string& ha, const std::string& ga,
                  const std::string& hl, const std::string& gl) {
    s.push_back({hp_pre + hl + ".weight", gg_pre + gl + ".weight", {d}});
    s.push_back({hp_pre + hl + ".bias", gg_pre + gl + ".bias", {d}});
    s.push_back({hp_pre + ha + ".q_proj.weight", gg_pre + ga + ".query.weight", {d, d}});
    s.push_back({hp_pre + ha + ".q_proj.bias", gg_pre + ga + ".query.bias", {d}});
    s.push_back({hp_pre + ha + ".k_proj.weight", gg_pre + ga + ".key.weight", {d, d}});
    s.push_back({hp_pre + ha + ".v_proj.weight", gg_pre + ga + ".value.weight", {d, d}});
    s.push_back({hp_pre + ha + ".v_proj.bias", gg_pre + ga + ".value.bias", {d}});
    s.push_back({hp_pre + ha + ".out_proj.weight", gg_pre + ga + ".out.weight", {d, d}});
    s.push_back({hp_pre + ha + ".out_proj.bias", gg_pre + ga + ".out.bias", {d}});
  };
  auto mlp = [&](const std::string& hp_pre, const std::string& gg_pre) {
    s.push_back({hp_pre + "final_layer_norm.weight", gg_pre + "mlp_ln.weight", {d}});
    s.push_back({hp_pre + "final_layer_norm.bias", gg_pre + "mlp_ln.bias", {d}});
    s.push_back({hp_pre + "fc1.weight", gg_pre + "mlp.0.weight", {4 * d, d}});
    s.push_back({hp_pre + "fc1.bias", gg_pre + "mlp.0.bias", {4 * d}});
    s.push_back({hp_pre + "fc2.weight", gg_pre + "mlp.2.weight", {d, 4 * d}});
    s.push_back({hp_pre + "fc2.bias", gg_pre + "mlp.2.bias", {d}});
  };
  for (int i = 0; i < hp.n_audio_layer; ++i) {
    const std::string h = "encoder.layers." + std::to_string(i) + ".";
    const std::string g = "encoder.blocks." + std::to_string(i) + ".";
    attn(h, g, "self_attn", "attn", "self_attn_layer_norm", "attn_ln");
    mlp(h, g);
  }
  for (int i = 0; i < hp.n_text_layer; ++i) {
    const std::string h = "decoder.layers." + std::to_string(i) + ".";
    const std::string g = "decoder.blocks." + std::to_string(i) + ".";
    attn(h, g, "self_attn", "attn", "self_attn_layer_norm", "attn_ln");
    attn(h, g, "encoder_attn", "cross_attn", "encoder_attn_layer_norm", "cross_attn_ln");
    mlp(h, g);
  }
  return s;
}

inline size_t element_count(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t v : shape) n *= static_cast<size_t>(v);
  return n;
}

// Values k/64 with |k| <= 32: exact in f32, f16 and bf16, so every storage
// type must load to the same floats. LayerNorm gains sit around 1.
inline std::map<std::string, std::vector<float>> random_weights(const std::vector<TensorSpec>& specs,
                                                                uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-32, 32);
  std::map<std::string, std::vector<float>> out;
  for (const auto& s : specs) {
    std::vector<float> v(element_count(s.shape));
    const bool gain = s.hf_name.find("norm.weight") != std::string::npos;
    for (float& x : v) x = (gain ? 1.0f : 0.0f) + static_cast<float>(dist(rng)) / 64.0f;
    out[s.hf_name] = std::move(v);
  }
  return out;
}

inline uint16_t to_half(float f) {
  // Exact for the values random_weights() makes (normal, <= 10 mantissa bits).
  const uint32_t b = std::bit_cast<uint32_t>(f);
  if ((b & 0x7fffffffu) == 0) return static_cast<uint16_t>((b >> 16) & 0x8000u);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const int exp = static_cast<int>((b >> 23) & 0xff) - 127 + 15;
  const uint32_t mant = (b >> 13) & 0x3ffu;
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | mant);
}

inline uint16_t to_bf16(float f) { return static_cast<uint16_t>(std::bit_cast<uint32_t>(f) >> 16); }

inline nlohmann::json hf_config(const HParams& hp) {
  return {{"vocab_size", hp.n_vocab},
          {"num_mel_bins", hp.n_mels},
          {"max_source_positions", hp.n_audio_ctx},
          {"d_model", hp.n_audio_state},
          {"encoder_attention_heads", hp.n_audio_head},
          {"encoder_layers", hp.n_audio_layer},
          {"max_target_positions", hp.n_text_ctx},
          {"decoder_attention_heads", hp.n_text_head},
          {"decoder_layers", hp.n_text_layer}};
}

// Returns the safetensors bytes. `dtype` is "F32", "F16" or "BF16";
// `dtype_override` names tensors (HF name) stored with another dtype
// string (written as 2-byte values); `shape_override` replaces the
// declared shape of one tensor (data size follows the new shape).
inline std::string safetensors_bytes(const std::vector<TensorSpec>& specs,
                                     const std::map<std::string, std::vector<float>>& values,
                                     const std::string& dtype,
                                     const std::map<std::string, std::string>& dtype_override = {},
                                     const std::map<std::string, std::vector<int64_t>>& shape_override = {}) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::string data;
  for (const auto& s : specs) {
    std::string dt = dtype;
    if (auto it = dtype_override.find(s.hf_name); it != dtype_override.end()) dt = it->second;
    std::vector<int64_t> shape = s.shape;
    if (auto it = shape_override.find(s.hf_name); it != shape_override.end()) shape = it->second;
    const std::vector<float>& v = values.at(s.hf_name);
    const size_t n = element_count(shape);
    const size_t begin = data.size();
    for (size_t i = 0; i < n; ++i) {
      const float x = v[i % v.size()];
      if (dt == "F32") {
        data.append(reinterpret_cast<const char*>(&x), 4);
      } else {
        const uint16_t h = dt == "BF16" ? to_bf16(x) : to_half(x);
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    header["model." + s.hf_name] = {{"dtype", dt}, {"shape", shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';
  const uint64_t len = h.size();
  std::string out(reinterpret_cast<const char*>(&len), 8);
  return out + h + data;
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_hf(const std::filesystem::path& dir, const HParams& hp, const std::vector<TensorSpec>& specs,
                     const std::map<std::string, std::vector<float>>& values, const std::string& dtype = "F32") {
  std::filesystem::create_directories(dir);
  write_file(dir / "config.json", hf_config(hp).dump());
  write_file(dir / "model.safetensors", safetensors_bytes(specs, values, dtype));
}

// whisper.cpp layout; ftype 1 stores 2-D+ tensors as f16 (1-D stay f32, as
// its converter does). `ftype_field` overrides the header's ftype.
inline std::string ggml_bytes(const HParams& hp, const std::vector<TensorSpec>& specs,
                              const std::map<std::string, std::vector<float>>& values, int ftype,
                              int ftype_field = -1) {
  std::string out;
  auto i32 = [&](int32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  i32(0x67676d6c);
  for (int v : {hp.n_vocab, hp.n_audio_ctx, hp.n_audio_state, hp.n_audio_head, hp.n_audio_layer, hp.n_text_ctx,
                hp.n_text_state, hp.n_text_head, hp.n_text_layer, hp.n_mels, ftype_field >= 0 ? ftype_field : ftype}) {
    i32(v);
  }
  i32(hp.n_mels);
  i32(201);
  for (int i = 0; i < hp.n_mels * 201; ++i) {
    const float f = 0.0f;
    out.append(reinterpret_cast<const char*>(&f), 4);
  }
  i32(hp.n_vocab);
  for (int i = 0; i < hp.n_vocab; ++i) {
    const std::string tok = "t" + std::to_string(i);
    i32(static_cast<int32_t>(tok.size()));
    out += tok;
  }
  for (const auto& s : specs) {
    const bool half = ftype == 1 && s.shape.size() >= 2;
    i32(static_cast<int32_t>(s.shape.size()));
    i32(static_cast<int32_t>(s.ggml_name.size()));
    i32(half ? 1 : 0);
    for (auto it = s.shape.rbegin(); it != s.shape.rend(); ++it) i32(static_cast<int32_t>(*it));
    out += s.ggml_name;
    for (float x : values.at(s.hf_name)) {
      if (half) {
        const uint16_t h = to_half(x);
        out.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        out.append(reinterpret_cast<const char*>(&x), 4);
      }
    }
  }
  return out;
}

}  // namespace sf::asr::whisper::testing
