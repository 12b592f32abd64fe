// The CUDA backend (cuda/cuda_session.h) against the CPU backend on random
// weights: f32 within 1e-4 relative (encoder output, logits), f16 / bf16
// within 3e-3, the same greedy tokens in f32, and the Session contract
// (batches, KV cache, copy_kv, cross-attention). Label `gpu`
// (tests/gpu/tests.cmake); every test skips where no CUDA backend is usable.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "asr/whisper/backend.h"
#include "asr/whisper/cuda/plugin_abi.h"
#include "asr/whisper/model/session.h"
#include "asr/whisper/tiny_model.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;

#ifdef SF_WHISPER_CUDA_PLUGIN
// The test binary does not sit next to the plugin (the program does): point
// the loader at this build's plugin before anything asks for CUDA.
const bool kPluginPathSet = [] { return setenv("STUDIOFLOW_WHISPER_CUDA_PLUGIN", SF_WHISPER_CUDA_PLUGIN, 0) == 0; }();
#endif

HParams tiny_hparams() {
  HParams hp;
  hp.n_vocab = 51865;
  hp.n_mels = 80;
  hp.n_audio_ctx = 1500;
  hp.n_audio_state = 384;
  hp.n_audio_head = 6;
  hp.n_audio_layer = 4;
  hp.n_text_ctx = 448;
  hp.n_text_state = 384;
  hp.n_text_head = 6;
  hp.n_text_layer = 4;
  return hp;
}

// Random weights scaled by their fan-in (as trained weights roughly are),
// so activations and attention scores stay in a realistic range and f16
// does not overflow.
std::shared_ptr<const Model> random_model(const fs::path& dir, const HParams& hp) {
  const auto specs = testing::tensor_specs(hp);
  auto values = testing::random_weights(specs, 7);
  for (const auto& s : specs) {
    if (s.hf_name.find("norm.weight") != std::string::npos) continue;
    double fan_in = 1;
    for (size_t i = 1; i < s.shape.size(); ++i) fan_in *= static_cast<double>(s.shape[i]);
    const float scale = s.shape.size() >= 2 ? static_cast<float>(1.0 / (0.29 * std::sqrt(fan_in))) : 0.2f;
    for (float& v : values[s.hf_name]) v *= scale;
  }
  testing::write_hf(dir, hp, specs, values);
  auto m = Model::load(dir.string());
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  return m.ok() ? *m : nullptr;
}

double rel(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0, n = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    d += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
    n += b[i] * static_cast<double>(b[i]);
  }
  return std::sqrt(d / std::max(n, 1e-30));
}

class WhisperCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_availability().usable) GTEST_SKIP() << "no usable CUDA backend: " << cuda_availability().why;
    dir_ = fs::temp_directory_path() / ("sf_whisper_cuda_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void load(const HParams& hp) {
    hp_ = hp;
    model_ = random_model(dir_ / "hf", hp);
    ASSERT_NE(model_, nullptr);
  }

  std::vector<float> random_mel(int batch, uint32_t seed) const {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.5f);
    std::vector<float> mel(static_cast<size_t>(batch) * static_cast<size_t>(hp_.n_mels) * 2 *
                           static_cast<size_t>(hp_.n_audio_ctx));
    for (float& v : mel) v = dist(rng);
    return mel;
  }

  std::unique_ptr<Session> session(Device::Kind kind, ComputeType ct, int max_batch = 2, int kv_slots = 0) {
    auto s = Session::create(model_, {.threads = 2,
                                      .max_batch = max_batch,
                                      .kv_slots = kv_slots,
                                      .device = {.kind = kind},
                                      .compute_type = ct});
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Encodes two windows and decodes two items (all logits) on CPU f32 and
  // on CUDA in each compute type; compares both outputs.
  void compare_with_cpu() {
    const auto mel = random_mel(2, 21);
    const std::vector<int32_t> t0 = {3, 14, 15, 9, 26};
    const std::vector<int32_t> t1 = {hp_.n_vocab - 1, 5, 35};
    const std::vector<DecodeItem> items = {{.batch_index = 1, .slot = 0, .tokens = t0},
                                           {.batch_index = 0, .slot = 1, .tokens = t1}};
    const size_t per = static_cast<size_t>(hp_.n_audio_ctx) * static_cast<size_t>(hp_.n_audio_state);
    auto run = [&](Session& s, std::vector<float>* enc, std::vector<float>* logits) {
      ASSERT_TRUE(s.encode(mel, 2).ok());
      ASSERT_NE(s.encoder_output(0), nullptr);
      enc->assign(s.encoder_output(0), s.encoder_output(0) + 2 * per);
      const Status st = s.decode(items, logits, true);
      ASSERT_TRUE(st.ok()) << st.to_string();
    };
    std::vector<float> enc_cpu, log_cpu;
    auto cpu = session(Device::Kind::kCpu, ComputeType::kF32);
    ASSERT_NE(cpu, nullptr);
    run(*cpu, &enc_cpu, &log_cpu);
    struct Case {
      ComputeType type;
      double bound;
    };
    for (Case c : {Case{ComputeType::kF32, 1e-4}, Case{ComputeType::kF16, 3e-3}, Case{ComputeType::kBF16, 3e-3}}) {
      SCOPED_TRACE(std::string(compute_type_name(c.type)));
      auto gpu = session(Device::Kind::kCuda, c.type);
      ASSERT_NE(gpu, nullptr);
      EXPECT_EQ(gpu->options().compute_type, c.type);
      EXPECT_EQ(gpu->options().device.kind, Device::Kind::kCuda);
      std::vector<float> enc, logits;
      run(*gpu, &enc, &logits);
      const double e = rel(enc, enc_cpu), l = rel(logits, log_cpu);
      EXPECT_LT(e, c.bound);
      EXPECT_LT(l, c.bound);
      std::printf("[ cuda %s ] encoder rel %.2e, logits rel %.2e\n", std::string(compute_type_name(c.type)).c_str(),
                  e, l);
    }
  }

  fs::path dir_;
  HParams hp_;
  std::shared_ptr<const Model> model_;
};

TEST_F(WhisperCudaTest, MatchesCpuOnSmallShapes) {
  load(testing::small_hparams());
  compare_with_cpu();
}

TEST_F(WhisperCudaTest, MatchesCpuOnTinyShapes) {
  load(tiny_hparams());
  compare_with_cpu();
}

TEST_F(WhisperCudaTest, GreedyTokensEqualCpuInF32) {
  load(tiny_hparams());
  const auto mel = random_mel(1, 5);
  auto greedy = [&](Session& s) {
    std::vector<int32_t> out;
    EXPECT_TRUE(s.encode(mel, 1).ok());
    std::vector<int32_t> toks = {hp_.n_vocab - 7, hp_.n_vocab - 6, 17};
    std::vector<float> logits;
    int n_past = 0;
    for (int step = 0; step < 24; ++step) {
      DecodeItem it{.tokens = toks, .n_past = n_past};
      EXPECT_TRUE(s.decode({&it, 1}, &logits).ok());
      n_past += static_cast<int>(toks.size());
      const int next = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      out.push_back(next);
      toks = {next};
    }
    return out;
  };
  auto cpu = session(Device::Kind::kCpu, ComputeType::kF32, 1);
  auto gpu = session(Device::Kind::kCuda, ComputeType::kF32, 1);
  ASSERT_NE(cpu, nullptr);
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(greedy(*gpu), greedy(*cpu));
}

TEST_F(WhisperCudaTest, IncrementalDecodingAndCopyKv) {
  load(testing::small_hparams());
  auto s = session(Device::Kind::kCuda, ComputeType::kF32, 1, 3);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->kv_slots(), 3);
  ASSERT_TRUE(s->encode(random_mel(1, 4), 1).ok());
  const std::vector<int32_t> toks = {1, 50, 7, 99, 0, 42};
  std::vector<float> all, step;
  DecodeItem whole{.tokens = toks};
  ASSERT_TRUE(s->decode({&whole, 1}, &all, true).ok());
  const size_t V = static_cast<size_t>(hp_.n_vocab);
  DecodeItem prompt{.slot = 0, .tokens = std::span(toks).subspan(0, 3)};
  ASSERT_TRUE(s->decode({&prompt, 1}, &step).ok());
  EXPECT_LT(rel(step, std::span(all).subspan(2 * V, V)), 1e-5);
  s->copy_kv(0, 2, 3);
  for (int slot : {0, 2}) {
    DecodeItem next{.slot = slot, .tokens = std::span(toks).subspan(3, 1), .n_past = 3};
    ASSERT_TRUE(s->decode({&next, 1}, &step).ok());
    EXPECT_LT(rel(step, std::span(all).subspan(3 * V, V)), 1e-5) << "slot " << slot;
  }
  s->reset_kv(2);
}

TEST_F(WhisperCudaTest, CrossAttentionMatchesCpu) {
  load(testing::small_hparams());
  const auto mel = random_mel(1, 8);
  const std::vector<int32_t> toks = {1, 2, 3};
  auto probs = [&](Session& s) {
    EXPECT_TRUE(s.encode(mel, 1).ok());
    EXPECT_EQ(s.set_collect_cross_attention({{hp_.n_text_layer, 0}}).code(), Code::kInvalidArgument);
    EXPECT_TRUE(s.set_collect_cross_attention(model_->alignment_heads()).ok());
    DecodeItem it{.tokens = toks};
    std::vector<float> logits;
    EXPECT_TRUE(s.decode({&it, 1}, &logits).ok());
    const auto a = s.cross_attention(0);
    return std::vector<float>(a.begin(), a.end());
  };
  auto cpu = session(Device::Kind::kCpu, ComputeType::kF32, 1);
  auto gpu = session(Device::Kind::kCuda, ComputeType::kF32, 1);
  ASSERT_NE(cpu, nullptr);
  ASSERT_NE(gpu, nullptr);
  const auto want = probs(*cpu);
  const auto got = probs(*gpu);
  ASSERT_EQ(got.size(), model_->alignment_heads().size() * toks.size() * static_cast<size_t>(hp_.n_audio_ctx));
  EXPECT_LT(rel(got, want), 1e-4);
  ASSERT_TRUE(gpu->set_collect_cross_attention({}).ok());
  DecodeItem it{.tokens = toks};
  std::vector<float> logits;
  ASSERT_TRUE(gpu->decode({&it, 1}, &logits).ok());
  EXPECT_TRUE(gpu->cross_attention(0).empty());
}

TEST_F(WhisperCudaTest, RejectsBadCallsAndNamesFallbacks) {
  load(testing::small_hparams());
  auto s = session(Device::Kind::kCuda, ComputeType::kF32, 2);
  ASSERT_NE(s, nullptr);
  std::vector<float> logits;
  const std::vector<int32_t> toks = {1};
  DecodeItem it{.tokens = toks};
  EXPECT_EQ(s->decode({&it, 1}, &logits).code(), Code::kInvalidArgument);  // before encode
  EXPECT_EQ(s->encode(random_mel(1, 1), 2).code(), Code::kInvalidArgument);
  EXPECT_EQ(s->encode(random_mel(3, 1), 3).code(), Code::kInvalidArgument);
  ASSERT_TRUE(s->encode(random_mel(1, 1), 1).ok());
  DecodeItem bad_window{.batch_index = 1, .tokens = toks};
  EXPECT_EQ(s->decode({&bad_window, 1}, &logits).code(), Code::kInvalidArgument);
  const std::vector<int32_t> bad_tok = {hp_.n_vocab};
  DecodeItem bad_id{.tokens = bad_tok};
  EXPECT_EQ(s->decode({&bad_id, 1}, &logits).code(), Code::kInvalidArgument);
  DecodeItem past{.tokens = toks, .n_past = hp_.n_text_ctx};
  EXPECT_EQ(s->decode({&past, 1}, &logits).code(), Code::kInvalidArgument);
  ASSERT_TRUE(s->decode({&it, 1}, &logits).ok());
  EXPECT_EQ(logits.size(), static_cast<size_t>(hp_.n_vocab));

  auto i8 = session(Device::Kind::kCuda, ComputeType::kInt8Float16, 1);
  ASSERT_NE(i8, nullptr);
  EXPECT_EQ(i8->options().compute_type, ComputeType::kF16);
  EXPECT_FALSE(i8->fallback_reason().empty());
}

// Runs everywhere the plugin was built, GPU or not: the plugin loads into
// this process (its program symbols resolve against the executable), says
// its ABI version, and without a device answers with a Status, not a crash.
TEST(WhisperCudaPlugin, LoadsAndAnswersWithAStatus) {
#ifndef SF_WHISPER_CUDA_PLUGIN
  GTEST_SKIP() << "this build has no CUDA plugin (no CUDA toolkit found)";
#else
  void* handle = dlopen(SF_WHISPER_CUDA_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto version = reinterpret_cast<int (*)()>(dlsym(handle, cuda::kAbiVersionSymbol));
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(version(), cuda::kAbiVersion);
  auto create = reinterpret_cast<cuda::CreateSessionFn>(dlsym(handle, cuda::kCreateSessionSymbol));
  ASSERT_NE(create, nullptr);
  const fs::path dir = fs::temp_directory_path() / ("sf_whisper_cuda_plugin_" + std::to_string(getpid()));
  fs::remove_all(dir);
  auto model = random_model(dir, testing::small_hparams());
  ASSERT_NE(model, nullptr);
  std::unique_ptr<Session> s;
  const Status st = create(model, {.max_batch = 1, .kv_slots = 1, .device = {.kind = Device::Kind::kCuda}}, &s);
  if (cuda_availability().usable) {
    EXPECT_TRUE(st.ok()) << st.to_string();
    EXPECT_NE(s, nullptr);
  } else {
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(s, nullptr);
    std::printf("[ no device ] %s\n", st.to_string().c_str());
  }
  s.reset();
  model.reset();
  fs::remove_all(dir);
  // Not dlclose'd: the loader keeps the library for the process anyway.
#endif
}

}  // namespace
}  // namespace sf::asr::whisper
