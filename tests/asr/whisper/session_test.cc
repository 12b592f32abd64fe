#include "asr/whisper/model/session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "asr/whisper/backend.h"
#include "asr/whisper/cpu/prepared.h"
#include "asr/whisper/tiny_model.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;

// A small random model, loaded from a folder that lives as long as the test.
class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sf_whisper_session_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    hp_ = testing::small_hparams();
    specs_ = testing::tensor_specs(hp_);
    values_ = testing::random_weights(specs_, 7);
    testing::write_hf(dir_ / "hf", hp_, specs_, values_);
    auto m = Model::load((dir_ / "hf").string());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    model_ = *m;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<float> random_mel(int batch, uint32_t seed) const {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.5f);
    std::vector<float> mel(static_cast<size_t>(batch) * static_cast<size_t>(hp_.n_mels) * 2 * static_cast<size_t>(hp_.n_audio_ctx));
    for (float& v : mel) v = dist(rng);
    return mel;
  }

  std::unique_ptr<Session> session(SessionOptions o = {}) {
    auto s = Session::create(model_, o);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }

  fs::path dir_;
  HParams hp_;
  std::vector<testing::TensorSpec> specs_;
  std::map<std::string, std::vector<float>> values_;
  std::shared_ptr<const Model> model_;
};

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
  return d;
}

TEST_F(SessionTest, GgmlAndHuggingFaceGiveIdenticalOutputs) {
  testing::write_file(dir_ / "ggml.bin", testing::ggml_bytes(hp_, specs_, values_, 0));
  auto g = Model::load((dir_ / "ggml.bin").string());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  auto a = session();
  auto b = Session::create(*g, {});
  ASSERT_TRUE(b.ok());
  const auto mel = random_mel(1, 3);
  ASSERT_TRUE(a->encode(mel, 1).ok());
  ASSERT_TRUE((*b)->encode(mel, 1).ok());
  const size_t n = static_cast<size_t>(hp_.n_audio_ctx * hp_.n_audio_state);
  EXPECT_EQ(max_abs_diff({a->encoder_output(0), n}, {(*b)->encoder_output(0), n}), 0.0);
  const std::vector<int32_t> toks = {3, 14, 15, 92};
  DecodeItem it{.tokens = toks};
  std::vector<float> la, lb;
  ASSERT_TRUE(a->decode({&it, 1}, &la, true).ok());
  ASSERT_TRUE((*b)->decode({&it, 1}, &lb, true).ok());
  ASSERT_EQ(la.size(), toks.size() * static_cast<size_t>(hp_.n_vocab));
  EXPECT_EQ(max_abs_diff(la, lb), 0.0);
  // Random weights give non-trivial logits.
  EXPECT_GT(std::abs(la[5] - la[6]), 1e-4);
}

TEST_F(SessionTest, IncrementalDecodingMatchesOneShot) {
  auto s = session();
  ASSERT_TRUE(s->encode(random_mel(1, 4), 1).ok());
  // Ten tokens: the one-shot pass takes the GEMM attention path, the
  // steps the few-row path; both must agree.
  const std::vector<int32_t> toks = {1, 50, 7, 99, 0, 42, 42, 3, 77, 64};
  std::vector<float> all;
  DecodeItem whole{.tokens = toks};
  ASSERT_TRUE(s->decode({&whole, 1}, &all, true).ok());

  // A prompt of 2, then one token at a time through the KV cache.
  std::vector<float> step;
  DecodeItem prompt{.slot = 0, .tokens = std::span(toks).subspan(0, 2), .n_past = 0};
  ASSERT_TRUE(s->decode({&prompt, 1}, &step).ok());
  ASSERT_EQ(step.size(), static_cast<size_t>(hp_.n_vocab));
  const size_t V = static_cast<size_t>(hp_.n_vocab);
  EXPECT_LT(max_abs_diff(step, std::span(all).subspan(1 * V, V)), 1e-5);
  for (size_t i = 2; i < toks.size(); ++i) {
    DecodeItem one{.tokens = std::span(toks).subspan(i, 1), .n_past = static_cast<int>(i)};
    ASSERT_TRUE(s->decode({&one, 1}, &step).ok());
    EXPECT_LT(max_abs_diff(step, std::span(all).subspan(i * V, V)), 1e-5) << "token " << i;
  }
}

TEST_F(SessionTest, BatchedWindowsAndItemsMatchSingleRuns) {
  const auto mel = random_mel(2, 5);
  const size_t per = mel.size() / 2;
  const std::vector<int32_t> t0 = {5, 6, 7};
  const std::vector<int32_t> t1 = {9, 8};

  auto single = session();
  std::vector<float> r0, r1;
  ASSERT_TRUE(single->encode(std::span(mel).subspan(0, per), 1).ok());
  DecodeItem i0{.tokens = t0};
  ASSERT_TRUE(single->decode({&i0, 1}, &r0).ok());
  ASSERT_TRUE(single->encode(std::span(mel).subspan(per, per), 1).ok());
  DecodeItem i1{.tokens = t1};
  ASSERT_TRUE(single->decode({&i1, 1}, &r1).ok());

  auto batched = session({.threads = 2, .max_batch = 2});
  ASSERT_TRUE(batched->encode(mel, 2).ok());
  EXPECT_EQ(batched->encoded_batch(), 2);
  std::vector<DecodeItem> items = {{.batch_index = 0, .slot = 1, .tokens = t0},
                                   {.batch_index = 1, .slot = 0, .tokens = t1}};
  std::vector<float> r;
  ASSERT_TRUE(batched->decode(items, &r).ok());
  const size_t V = static_cast<size_t>(hp_.n_vocab);
  ASSERT_EQ(r.size(), 2 * V);
  EXPECT_LT(max_abs_diff(std::span(r).subspan(0, V), r0), 1e-5);
  EXPECT_LT(max_abs_diff(std::span(r).subspan(V, V), r1), 1e-5);
}

TEST_F(SessionTest, CopyKvContinuesAParentSequence) {
  auto s = session({.max_batch = 1, .kv_slots = 3});
  ASSERT_EQ(s->kv_slots(), 3);
  ASSERT_TRUE(s->encode(random_mel(1, 6), 1).ok());
  const std::vector<int32_t> prefix = {11, 12, 13};
  const std::vector<int32_t> next = {40};
  std::vector<float> expect, got, scratch;
  DecodeItem full{.slot = 0, .tokens = prefix};
  ASSERT_TRUE(s->decode({&full, 1}, &scratch).ok());
  DecodeItem cont{.slot = 0, .tokens = next, .n_past = 3};
  ASSERT_TRUE(s->decode({&cont, 1}, &expect).ok());

  s->copy_kv(0, 2, 3);
  DecodeItem child{.slot = 2, .tokens = next, .n_past = 3};
  ASSERT_TRUE(s->decode({&child, 1}, &got).ok());
  EXPECT_EQ(max_abs_diff(got, expect), 0.0);
}

TEST_F(SessionTest, CrossAttentionOfSelectedHeads) {
  auto s = session();
  ASSERT_TRUE(s->encode(random_mel(1, 8), 1).ok());
  EXPECT_EQ(s->set_collect_cross_attention({{5, 0}}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(s->set_collect_cross_attention(model_->alignment_heads()).ok());
  const std::vector<int32_t> toks = {1, 2, 3};
  DecodeItem it{.tokens = toks};
  std::vector<float> logits;
  ASSERT_TRUE(s->decode({&it, 1}, &logits).ok());
  const auto att = s->cross_attention(0);
  const size_t heads = model_->alignment_heads().size();
  ASSERT_EQ(att.size(), heads * toks.size() * static_cast<size_t>(hp_.n_audio_ctx));
  for (size_t r = 0; r < heads * toks.size(); ++r) {
    double sum = 0;
    for (int t = 0; t < hp_.n_audio_ctx; ++t) {
      const float p = att[r * static_cast<size_t>(hp_.n_audio_ctx) + static_cast<size_t>(t)];
      EXPECT_GE(p, 0.0f);
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
  ASSERT_TRUE(s->set_collect_cross_attention({}).ok());
  ASSERT_TRUE(s->decode({&it, 1}, &logits).ok());
  EXPECT_TRUE(s->cross_attention(0).empty());
}

TEST_F(SessionTest, ThreadCountDoesNotChangeResults) {
  const auto mel = random_mel(1, 9);
  const std::vector<int32_t> toks = {4, 8, 15, 16, 23, 42};
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<float>> enc;
  for (int threads : {1, 2, 3}) {
    auto s = session({.threads = threads});
    ASSERT_TRUE(s->encode(mel, 1).ok());
    const size_t n = static_cast<size_t>(hp_.n_audio_ctx * hp_.n_audio_state);
    enc.emplace_back(s->encoder_output(0), s->encoder_output(0) + n);
    DecodeItem it{.tokens = toks};
    logits.emplace_back();
    ASSERT_TRUE(s->decode({&it, 1}, &logits.back(), true).ok());
  }
  for (size_t i = 1; i < logits.size(); ++i) {
    EXPECT_LT(max_abs_diff(enc[i], enc[0]), 1e-5);
    EXPECT_LT(max_abs_diff(logits[i], logits[0]), 1e-5);
  }
}

TEST_F(SessionTest, RejectsBadCalls) {
  EXPECT_EQ(Session::create(nullptr, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Session::create(model_, {.threads = 0}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Session::create(model_, {.max_batch = 0}).status().code(), Code::kInvalidArgument);
  auto s = session({.max_batch = 2});
  const std::vector<int32_t> toks = {1};
  std::vector<float> logits;
  DecodeItem it{.tokens = toks};
  EXPECT_EQ(s->decode({&it, 1}, &logits).code(), Code::kInvalidArgument);  // before encode
  EXPECT_EQ(s->encode(random_mel(1, 1), 2).code(), Code::kInvalidArgument);  // size mismatch
  EXPECT_EQ(s->encode(random_mel(3, 1), 3).code(), Code::kInvalidArgument);  // over max_batch
  ASSERT_TRUE(s->encode(random_mel(1, 1), 1).ok());
  DecodeItem bad_batch{.batch_index = 1, .tokens = toks};
  EXPECT_EQ(s->decode({&bad_batch, 1}, &logits).code(), Code::kInvalidArgument);
  DecodeItem bad_slot{.slot = 2, .tokens = toks};
  EXPECT_EQ(s->decode({&bad_slot, 1}, &logits).code(), Code::kInvalidArgument);
  const std::vector<int32_t> bad_tok = {hp_.n_vocab};
  DecodeItem bad_token{.tokens = bad_tok};
  EXPECT_EQ(s->decode({&bad_token, 1}, &logits).code(), Code::kInvalidArgument);
  DecodeItem too_long{.tokens = toks, .n_past = hp_.n_text_ctx};
  EXPECT_EQ(s->decode({&too_long, 1}, &logits).code(), Code::kInvalidArgument);
  DecodeItem empty{};
  EXPECT_EQ(s->decode({&empty, 1}, &logits).code(), Code::kInvalidArgument);
  std::vector<DecodeItem> same_slot = {{.tokens = toks}, {.tokens = toks}};
  EXPECT_EQ(s->decode(same_slot, &logits).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace sf::asr::whisper

namespace sf::asr::whisper {
namespace {

// F16 files keep their half-float matrices for the decoder's few-row
// products and half-float cross-attention keys/values; the results must
// agree with the same weights in f32 within f16 rounding.
TEST_F(SessionTest, HalfWeightsDecodeLikeF32) {
  testing::write_file(dir_ / "ggml16.bin", testing::ggml_bytes(hp_, specs_, values_, 1));
  auto g = Model::load((dir_ / "ggml16.bin").string());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  ASSERT_NE((*g)->weights().tok_emb_h, nullptr);
  ASSERT_NE((*g)->weights().dec[1].self.fc2_h, nullptr);
  EXPECT_EQ(model_->weights().tok_emb_h, nullptr);
  const auto mel = random_mel(1, 11);
  for (int threads : {1, 2}) {
    auto a = session({.threads = threads});
    auto b = Session::create(*g, {.threads = threads});
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(a->encode(mel, 1).ok());
    ASSERT_TRUE((*b)->encode(mel, 1).ok());
    // Rows on both sides of the F16 kernel's row limit.
    for (size_t n : {1u, 5u, 12u}) {
      std::vector<int32_t> toks(n);
      for (size_t i = 0; i < n; ++i) toks[i] = static_cast<int32_t>((i * 37 + 3) % static_cast<size_t>(hp_.n_vocab));
      DecodeItem it{.tokens = toks};
      std::vector<float> la, lb;
      ASSERT_TRUE(a->decode({&it, 1}, &la, true).ok());
      ASSERT_TRUE((*b)->decode({&it, 1}, &lb, true).ok());
      // F16 models also keep the cross-attention keys/values in half
      // precision, so the logits move by about the f16 rounding (2^-11).
      double num = 0, den = 0;
      for (size_t i = 0; i < la.size(); ++i) {
        num += (la[i] - lb[i]) * (la[i] - lb[i]);
        den += la[i] * la[i];
      }
      EXPECT_LT(std::sqrt(num / den), 2e-3) << n << " tokens, " << threads << " threads";
    }
  }

  // On the F16 model, the GEMM path (widened keys/values) and the few-row
  // path (half-float keys/values) agree.
  auto b = Session::create(*g, {});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*b)->encode(mel, 1).ok());
  const std::vector<int32_t> toks = {5, 17, 33, 2, 90, 61, 8, 8, 40, 11};
  std::vector<float> all, step;
  DecodeItem whole{.tokens = toks};
  ASSERT_TRUE((*b)->decode({&whole, 1}, &all, true).ok());
  const size_t V = static_cast<size_t>(hp_.n_vocab);
  for (size_t i = 0; i < toks.size(); ++i) {
    DecodeItem one{.tokens = std::span(toks).subspan(i, 1), .n_past = static_cast<int>(i)};
    ASSERT_TRUE((*b)->decode({&one, 1}, &step).ok());
    EXPECT_LT(max_abs_diff(step, std::span(all).subspan(i * V, V)), 1e-5) << "token " << i;
  }
}

}  // namespace
}  // namespace sf::asr::whisper

namespace sf::asr::whisper {
namespace {

// Word alignment reruns a whole sequence with collection on: the GEMM path
// (many rows) must record the same probabilities as token-by-token steps.
TEST_F(SessionTest, CrossAttentionSameOnBothAttentionPaths) {
  auto s = session();
  ASSERT_TRUE(s->encode(random_mel(1, 12), 1).ok());
  const std::vector<AlignmentHead> heads = {{0, 1}, {1, 0}};
  ASSERT_TRUE(s->set_collect_cross_attention(heads).ok());
  const std::vector<int32_t> toks = {5, 17, 33, 2, 90, 61, 8, 8, 40, 11};
  const size_t n = toks.size();
  const size_t T = static_cast<size_t>(hp_.n_audio_ctx);
  std::vector<float> logits;
  DecodeItem whole{.tokens = toks};
  ASSERT_TRUE(s->decode({&whole, 1}, &logits).ok());
  const std::vector<float> all(s->cross_attention(0).begin(), s->cross_attention(0).end());
  ASSERT_EQ(all.size(), heads.size() * n * T);
  for (size_t i = 0; i < n; ++i) {
    DecodeItem one{.tokens = std::span(toks).subspan(i, 1), .n_past = static_cast<int>(i)};
    ASSERT_TRUE(s->decode({&one, 1}, &logits).ok());
    const auto step = s->cross_attention(0);
    ASSERT_EQ(step.size(), heads.size() * T);
    for (size_t h = 0; h < heads.size(); ++h) {
      for (size_t t = 0; t < T; ++t) {
        EXPECT_NEAR(step[h * T + t], all[(h * n + i) * T + t], 1e-5) << "head " << h << " token " << i;
      }
    }
  }
}

// Every compute type against f32 on the same model: the encoder output and
// the logits within the type's rounding, and the session says what it runs.
TEST_F(SessionTest, ComputeTypesStayCloseToF32) {
  const auto mel = random_mel(1, 11);
  const std::vector<int32_t> toks = {3, 14, 15, 92, 65};
  auto run = [&](ComputeType ct, std::vector<float>* enc, std::vector<float>* logits) -> std::unique_ptr<Session> {
    auto s = session({.threads = 2, .device = {.kind = Device::Kind::kCpu}, .compute_type = ct});
    if (s == nullptr) return nullptr;
    EXPECT_TRUE(s->encode(mel, 1).ok());
    const size_t n = static_cast<size_t>(hp_.n_audio_ctx * hp_.n_audio_state);
    enc->assign(s->encoder_output(0), s->encoder_output(0) + n);
    DecodeItem it{.tokens = toks};
    EXPECT_TRUE(s->decode({&it, 1}, logits, true).ok());
    return s;
  };
  auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      d += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
      n += b[i] * static_cast<double>(b[i]);
    }
    return std::sqrt(d / n);
  };
  std::vector<float> enc32, log32;
  auto s32 = run(ComputeType::kF32, &enc32, &log32);
  ASSERT_NE(s32, nullptr);
  EXPECT_EQ(s32->options().compute_type, ComputeType::kF32);
  EXPECT_EQ(s32->options().device.kind, Device::Kind::kCpu);
  struct Case {
    ComputeType type;
    double bound;
  };
  for (Case c : {Case{ComputeType::kF16, 2e-3}, Case{ComputeType::kBF16, 6e-3}, Case{ComputeType::kInt8, 3e-2},
                 Case{ComputeType::kInt8Float16, 3e-2}}) {
    SCOPED_TRACE(std::string(compute_type_name(c.type)));
    std::vector<float> enc, logits;
    auto s = run(c.type, &enc, &logits);
    ASSERT_NE(s, nullptr);
    std::string why;
    const ComputeType expect = resolve_cpu_compute_type(c.type, false, &why);
    EXPECT_EQ(s->options().compute_type, expect);
    EXPECT_EQ(s->fallback_reason(), why);
    const double e = rel(enc, enc32), l = rel(logits, log32);
    EXPECT_LT(e, c.bound);
    EXPECT_LT(l, c.bound);
    if (expect == ComputeType::kBF16 || expect == ComputeType::kInt8) {
      // Really computed in the low-precision type, not in f32.
      EXPECT_GT(e, 1e-5);
    }
  }
}

TEST_F(SessionTest, LowPrecisionWeightsArePreparedOncePerModel) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  auto a = cpu::prepared_weights(model_, ComputeType::kBF16);
  auto b = cpu::prepared_weights(model_, ComputeType::kBF16);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->enc.size(), static_cast<size_t>(hp_.n_audio_layer));
  EXPECT_GT(a->bytes, 0u);
  if (cpu_features().avx512_vnni) {
    auto c = cpu::prepared_weights(model_, ComputeType::kInt8);
    EXPECT_NE(a.get(), c.get());
    EXPECT_TRUE(c->enc[0].q.is_int8());
    EXPECT_FALSE(c->conv1.is_int8());
  }
  // Two sessions in bf16 give identical results (they read the same
  // prepared weights, and nothing depends on the order of threads).
  const auto mel = random_mel(1, 12);
  auto s1 = session({.threads = 1, .compute_type = ComputeType::kBF16});
  auto s2 = session({.threads = 2, .compute_type = ComputeType::kBF16});
  ASSERT_TRUE(s1->encode(mel, 1).ok());
  ASSERT_TRUE(s2->encode(mel, 1).ok());
  const size_t n = static_cast<size_t>(hp_.n_audio_ctx * hp_.n_audio_state);
  EXPECT_EQ(max_abs_diff({s1->encoder_output(0), n}, {s2->encoder_output(0), n}), 0.0);
}

TEST_F(SessionTest, CudaWithoutAUsableGpuIsAClearError) {
  if (cuda_availability().usable) GTEST_SKIP() << "a CUDA backend is usable here";
  auto s = Session::create(model_, {.device = {.kind = Device::Kind::kCuda, .index = 0}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_NE(s.status().message().find("cuda:0"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(cuda_availability().why), std::string::npos) << s.status().message();
  // auto falls back to the CPU.
  auto a = Session::create(model_, {});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_EQ((*a)->options().device.kind, Device::Kind::kCpu);
  EXPECT_NE((*a)->options().compute_type, ComputeType::kAuto);
}

TEST(WhisperBackend, NamesParseAndPrint) {
  EXPECT_EQ(*parse_compute_type("int8_float16"), ComputeType::kInt8Float16);
  EXPECT_EQ(*parse_compute_type("float16"), ComputeType::kF16);
  EXPECT_EQ(*parse_compute_type("bfloat16"), ComputeType::kBF16);
  EXPECT_EQ(compute_type_name(*parse_compute_type("float32")), "f32");
  auto bad = parse_compute_type("fp8");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'fp8'"), std::string::npos);
  EXPECT_EQ(parse_device("cuda:3")->index, 3);
  EXPECT_EQ(parse_device("cuda")->kind, Device::Kind::kCuda);
  EXPECT_EQ(parse_device("cpu")->kind, Device::Kind::kCpu);
  EXPECT_EQ(parse_device("auto")->kind, Device::Kind::kAuto);
  EXPECT_EQ(device_name(*parse_device("cuda:2")), "cuda:2");
  for (const char* b : {"cuda:", "cuda:-1", "cuda:x", "tpu", "cuda:1a"}) {
    auto r = parse_device(b);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_NE(r.status().message().find(b), std::string::npos) << r.status().message();
  }
}

TEST(WhisperBackend, AutoPicksWhatTheCpuDoesWell) {
  const CpuFeatures& f = cpu_features();
  std::string why;
  const ComputeType a = resolve_cpu_compute_type(ComputeType::kAuto, true, &why);
  EXPECT_TRUE(why.empty());
  if (f.avx512_bf16) {
    EXPECT_EQ(a, ComputeType::kBF16);
  } else if (f.avx2) {
    EXPECT_EQ(a, ComputeType::kF16);
  }
  EXPECT_EQ(resolve_cpu_compute_type(ComputeType::kF32, true, &why), ComputeType::kF32);
  EXPECT_TRUE(why.empty());
  // int8_float16 is a GPU type: on the CPU it runs int8 (or falls back).
  const ComputeType i = resolve_cpu_compute_type(ComputeType::kInt8Float16, false, &why);
  EXPECT_EQ(i, f.avx512_vnni ? ComputeType::kInt8 : (f.avx2 ? ComputeType::kF16 : ComputeType::kF32));
}

}  // namespace
}  // namespace sf::asr::whisper

namespace sf::asr::whisper {
namespace {

// F16 models keep the self-attention cache in half precision: a child slot
// made by copy_kv() continues exactly as its parent would, and both match
// decoding the whole sequence in one go (few-row and GEMM paths alike).
TEST_F(SessionTest, HalfCacheCopyKvContinuesLikeOneShot) {
  testing::write_file(dir_ / "ggml16.bin", testing::ggml_bytes(hp_, specs_, values_, 1));
  auto g = Model::load((dir_ / "ggml16.bin").string());
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  const auto mel = random_mel(1, 13);
  const size_t V = static_cast<size_t>(hp_.n_vocab);
  for (int threads : {1, 2}) {
    auto made = Session::create(*g, {.threads = threads, .max_batch = 1, .kv_slots = 4});
    ASSERT_TRUE(made.ok());
    Session& s = **made;
    ASSERT_TRUE(s.encode(mel, 1).ok());
    // 3 + 7 tokens: the one-shot pass of 10 takes the GEMM path.
    for (size_t prefix_len : {3u, 9u}) {
      std::vector<int32_t> toks = {11, 12, 13, 70, 2, 5, 99, 31, 64, 8};
      std::vector<float> whole, parent, child, scratch;
      DecodeItem all{.slot = 3, .tokens = toks};
      ASSERT_TRUE(s.decode({&all, 1}, &whole, true).ok());

      s.reset_kv(0);
      DecodeItem prefix{.slot = 0, .tokens = std::span(toks).subspan(0, prefix_len)};
      ASSERT_TRUE(s.decode({&prefix, 1}, &scratch).ok());
      s.copy_kv(0, 2, static_cast<int>(prefix_len));
      for (size_t i = prefix_len; i < toks.size(); ++i) {
        const auto tok = std::span(toks).subspan(i, 1);
        // The child steps first, so a cache shared with the parent would
        // show in the parent's logits.
        DecodeItem c{.slot = 2, .tokens = tok, .n_past = static_cast<int>(i)};
        ASSERT_TRUE(s.decode({&c, 1}, &child).ok());
        DecodeItem p{.slot = 0, .tokens = tok, .n_past = static_cast<int>(i)};
        ASSERT_TRUE(s.decode({&p, 1}, &parent).ok());
        EXPECT_EQ(max_abs_diff(child, parent), 0.0) << "token " << i << ", " << threads << " threads";
        EXPECT_LT(max_abs_diff(child, std::span(whole).subspan(i * V, V)), 1e-5)
            << "token " << i << ", prefix " << prefix_len << ", " << threads << " threads";
      }
    }
  }
}

}  // namespace
}  // namespace sf::asr::whisper
