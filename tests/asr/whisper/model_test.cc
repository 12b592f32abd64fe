#include "asr/whisper/model/model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "asr/whisper/tiny_model.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;
using testing::TensorSpec;

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("sf_whisper_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every weight the model exposes equals the value written, for each role.
void expect_weights(const Model& m, const std::map<std::string, std::vector<float>>& v) {
  const Weights& w = m.weights();
  auto same = [&](const float* p, const std::string& name) {
    const auto& expect = v.at(name);
    ASSERT_NE(p, nullptr) << name;
    for (size_t i = 0; i < expect.size(); ++i) ASSERT_EQ(p[i], expect[i]) << name << "[" << i << "]";
  };
  same(w.conv1_w, "encoder.conv1.weight");
  same(w.conv2_b, "encoder.conv2.bias");
  same(w.enc_pos, "encoder.embed_positions.weight");
  same(w.tok_emb, "decoder.embed_tokens.weight");
  same(w.dec_pos, "decoder.embed_positions.weight");
  same(w.dec_ln_b, "decoder.layer_norm.bias");
  same(w.enc[1].k_w, "encoder.layers.1.self_attn.k_proj.weight");
  same(w.enc[1].fc2_w, "encoder.layers.1.fc2.weight");
  same(w.enc[0].mlp_ln_w, "encoder.layers.0.final_layer_norm.weight");
  same(w.dec[1].cross_v_w, "decoder.layers.1.encoder_attn.v_proj.weight");
  same(w.dec[1].cross_o_b, "decoder.layers.1.encoder_attn.out_proj.bias");
  same(w.dec[0].self.q_b, "decoder.layers.0.self_attn.q_proj.bias");
  same(w.dec[0].cross_ln_w, "decoder.layers.0.encoder_attn_layer_norm.weight");
  same(w.dec[1].self.fc1_b, "decoder.layers.1.fc1.bias");
}

TEST(WhisperModel, LoadsHuggingFaceFolderInEveryFloatType) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  const auto values = testing::random_weights(specs);
  for (const char* dtype : {"F32", "F16", "BF16"}) {
    TempDir dir;
    testing::write_hf(dir.path(), hp, specs, values, dtype);
    auto m = Model::load(dir.path().string());
    ASSERT_TRUE(m.ok()) << dtype << ": " << m.status().to_string();
    const HParams& got = (*m)->hparams();
    EXPECT_EQ(got.n_vocab, hp.n_vocab);
    EXPECT_EQ(got.n_mels, hp.n_mels);
    EXPECT_EQ(got.n_audio_ctx, hp.n_audio_ctx);
    EXPECT_EQ(got.n_audio_state, hp.n_audio_state);
    EXPECT_EQ(got.n_text_layer, hp.n_text_layer);
    EXPECT_EQ((*m)->format(), ModelFormat::kHuggingFace);
    EXPECT_EQ((*m)->source_dir(), dir.path().string());
    EXPECT_TRUE((*m)->ggml_vocab().empty());
    // No generation_config.json: the non-speech set comes from the vocabulary.
    EXPECT_TRUE((*m)->generation().suppress_tokens_from_vocab);
    expect_weights(**m, values);
    // The weights file itself names the same model.
    auto direct = Model::load((dir.path() / "model.safetensors").string());
    ASSERT_TRUE(direct.ok()) << direct.status().to_string();
    EXPECT_EQ((*direct)->source_dir(), dir.path().string());
    expect_weights(**direct, values);
  }
}

TEST(WhisperModel, LoadsGgmlF32AndF16) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  const auto values = testing::random_weights(specs);
  for (int ftype : {0, 1}) {
    TempDir dir;
    const fs::path file = dir.path() / "ggml-small.bin";
    testing::write_file(file, testing::ggml_bytes(hp, specs, values, ftype));
    auto m = Model::load(file.string());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ((*m)->format(), ModelFormat::kGgml);
    EXPECT_EQ((*m)->hparams().n_text_ctx, hp.n_text_ctx);
    ASSERT_EQ((*m)->ggml_vocab().size(), static_cast<size_t>(hp.n_vocab));
    EXPECT_EQ((*m)->ggml_vocab()[42], "t42");
    EXPECT_EQ((*m)->source_dir(), dir.path().string());
    EXPECT_TRUE((*m)->generation().suppress_tokens_from_vocab);
    expect_weights(**m, values);
  }
}

TEST(WhisperModel, ReadsGenerationConfig) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  TempDir dir;
  testing::write_hf(dir.path(), hp, specs, testing::random_weights(specs));
  nlohmann::json gen = {{"alignment_heads", {{1, 0}, {1, 1}, {7, 0}}},
                        {"lang_to_id", {{"<|de|>", 50261}, {"<|en|>", 50259}}},
                        {"task_to_id", {{"transcribe", 50359}, {"translate", 50358}}},
                        {"no_timestamps_token_id", 50363},
                        {"eos_token_id", 50257},
                        {"decoder_start_token_id", 50258},
                        {"suppress_tokens", {1, 2, 7}},
                        {"begin_suppress_tokens", {220, 50257}},
                        {"is_multilingual", true},
                        {"max_initial_timestamp_index", 40}};
  testing::write_file(dir.path() / "generation_config.json", gen.dump());
  auto m = Model::load(dir.path().string());
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const GenerationConfig& g = (*m)->generation();
  EXPECT_TRUE(g.is_multilingual);
  EXPECT_EQ(g.eot, 50257);
  EXPECT_EQ(g.sot, 50258);
  EXPECT_EQ(g.translate, 50358);
  EXPECT_EQ(g.transcribe, 50359);
  EXPECT_EQ(g.no_timestamps, 50363);
  EXPECT_EQ(g.timestamp_begin, 50364);
  EXPECT_EQ(g.no_speech, 50362);
  EXPECT_EQ(g.sot_prev, 50361);
  ASSERT_EQ(g.lang_to_id.size(), 2u);
  EXPECT_EQ(g.lang_to_id[0].first, "en");
  EXPECT_EQ(g.language_token("de"), 50261);
  EXPECT_EQ(g.language_token("xx"), -1);
  EXPECT_EQ(g.suppress_tokens, (std::vector<int>{1, 2, 7}));
  EXPECT_FALSE(g.suppress_tokens_from_vocab);
  EXPECT_EQ(g.max_initial_timestamp_index, 40);
  // (7, 0) names a layer the model does not have and is dropped.
  EXPECT_EQ(g.alignment_heads, (std::vector<AlignmentHead>{{1, 0}, {1, 1}}));
  EXPECT_EQ((*m)->alignment_heads(), g.alignment_heads);
}

TEST(WhisperModel, DerivesSpecialTokensFromVocabularySize) {
  // English-only, multilingual (99 languages) and large-v3 (100).
  struct Case {
    int n_vocab;
    bool multi;
    int eot, sot, translate, transcribe, no_speech, no_timestamps, ts_begin, languages;
  };
  for (const Case& c : {Case{51864, false, 50256, 50257, 50357, 50358, 50361, 50362, 50363, 0},
                        Case{51865, true, 50257, 50258, 50358, 50359, 50362, 50363, 50364, 99},
                        Case{51866, true, 50257, 50258, 50359, 50360, 50363, 50364, 50365, 100}}) {
    HParams hp = testing::small_hparams();
    hp.n_vocab = c.n_vocab;
    const auto specs = testing::tensor_specs(hp);
    TempDir dir;
    const fs::path file = dir.path() / "ggml-v.bin";
    testing::write_file(file, testing::ggml_bytes(hp, specs, testing::random_weights(specs), 1));
    auto m = Model::load(file.string());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    const GenerationConfig& g = (*m)->generation();
    EXPECT_EQ(g.is_multilingual, c.multi) << c.n_vocab;
    EXPECT_EQ(g.eot, c.eot) << c.n_vocab;
    EXPECT_EQ(g.sot, c.sot) << c.n_vocab;
    EXPECT_EQ(g.translate, c.translate) << c.n_vocab;
    EXPECT_EQ(g.transcribe, c.transcribe) << c.n_vocab;
    EXPECT_EQ(g.no_speech, c.no_speech) << c.n_vocab;
    EXPECT_EQ(g.no_timestamps, c.no_timestamps) << c.n_vocab;
    EXPECT_EQ(g.timestamp_begin, c.ts_begin) << c.n_vocab;
    EXPECT_EQ(static_cast<int>(g.lang_to_id.size()), c.languages) << c.n_vocab;
    if (c.multi) {
      EXPECT_EQ(g.language_token("en"), c.sot + 1);
      EXPECT_EQ(g.lang_to_id.back().second, c.translate - 1) << "languages end right before <|translate|>";
    }
    // Without generation_config.json: the upper half of the decoder layers.
    EXPECT_EQ((*m)->alignment_heads(), (std::vector<AlignmentHead>{{1, 0}, {1, 1}}));
  }
}

// ---- Bad model files --------------------------------------------------------

TEST(WhisperModelBadFiles, TruncatedSafetensorsAtEveryFewBytes) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  const std::string bytes = testing::safetensors_bytes(specs, testing::random_weights(specs), "F16");
  TempDir dir;
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  const fs::path file = dir.path() / "model.safetensors";
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 16) {
    testing::write_file(file, bytes.substr(0, len));
    auto m = Model::load(dir.path().string());
    ASSERT_FALSE(m.ok()) << "length " << len;
    EXPECT_EQ(m.status().code(), Code::kCorrupt) << "length " << len << ": " << m.status().to_string();
    EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos) << m.status().message();
  }
}

TEST(WhisperModelBadFiles, TruncatedGgmlAtEveryFewBytes) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  const std::string bytes = testing::ggml_bytes(hp, specs, testing::random_weights(specs), 1);
  TempDir dir;
  const fs::path file = dir.path() / "ggml-cut.bin";
  for (size_t len = 0; len < bytes.size(); len += 1 + len / 16) {
    testing::write_file(file, bytes.substr(0, len));
    auto m = Model::load(file.string());
    ASSERT_FALSE(m.ok()) << "length " << len;
    EXPECT_EQ(m.status().code(), Code::kCorrupt) << "length " << len << ": " << m.status().to_string();
    EXPECT_NE(m.status().message().find("ggml-cut.bin"), std::string::npos) << m.status().message();
  }
}

TEST(WhisperModelBadFiles, WrongShapeNamesTheTensor) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  const auto values = testing::random_weights(specs);
  TempDir dir;
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  testing::write_file(dir.path() / "model.safetensors",
                      testing::safetensors_bytes(specs, values, "F32", {},
                                                 {{"decoder.layers.1.fc1.weight", {64, 15}}}));
  auto m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("model.decoder.layers.1.fc1.weight"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("[64, 15]"), std::string::npos) << m.status().message();

  // config.json disagreeing with the weights: every tensor has the wrong
  // width.
  HParams wide = hp;
  wide.n_audio_state = wide.n_text_state = 32;
  testing::write_file(dir.path() / "config.json", testing::hf_config(wide).dump());
  testing::write_file(dir.path() / "model.safetensors", testing::safetensors_bytes(specs, values, "F32"));
  m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("expected [32"), std::string::npos) << m.status().message();
}

TEST(WhisperModelBadFiles, MissingTensor) {
  const HParams hp = testing::small_hparams();
  auto specs = testing::tensor_specs(hp);
  const auto values = testing::random_weights(specs);
  specs.erase(std::remove_if(specs.begin(), specs.end(),
                             [](const TensorSpec& s) { return s.hf_name == "decoder.layers.0.encoder_attn.k_proj.weight"; }),
              specs.end());
  TempDir dir;
  testing::write_hf(dir.path(), hp, specs, values);
  auto m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("decoder.layers.0.encoder_attn.k_proj.weight' is missing"), std::string::npos)
      << m.status().message();
}

TEST(WhisperModelBadFiles, UnknownDtypeIsUnsupported) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  TempDir dir;
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  testing::write_file(dir.path() / "model.safetensors",
                      testing::safetensors_bytes(specs, testing::random_weights(specs), "F32",
                                                 {{"encoder.conv2.weight", "I16"}}));
  auto m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kUnsupported);
  EXPECT_NE(m.status().message().find("model.encoder.conv2.weight"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("I16"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("not supported yet"), std::string::npos) << m.status().message();
}

TEST(WhisperModelBadFiles, QuantizedGgmlIsUnsupported) {
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  TempDir dir;
  const fs::path file = dir.path() / "ggml-q5.bin";
  // ftype 8 (q5_0) in the header, as quantized whisper.cpp files have.
  testing::write_file(file, testing::ggml_bytes(hp, specs, testing::random_weights(specs), 1, 8));
  auto m = Model::load(file.string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kUnsupported);
  EXPECT_NE(m.status().message().find("not supported yet"), std::string::npos) << m.status().message();
}

TEST(WhisperModelBadFiles, BadMagicAndHeaderPastTheEnd) {
  TempDir dir;
  const fs::path junk = dir.path() / "junk.bin";
  testing::write_file(junk, std::string("GGUF\x03\0\0\0 not a whisper model", 28));
  auto m = Model::load(junk.string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("junk.bin"), std::string::npos);

  const HParams hp = testing::small_hparams();
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  std::string st(8, '\0');
  const uint64_t huge = uint64_t{1} << 62;
  std::memcpy(st.data(), &huge, 8);
  st += "{}";
  testing::write_file(dir.path() / "model.safetensors", st);
  m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("past the end"), std::string::npos) << m.status().message();

  // A header that is not JSON.
  const uint64_t four = 4;
  std::memcpy(st.data(), &four, 8);
  st = st.substr(0, 8) + "{{{{";
  testing::write_file(dir.path() / "model.safetensors", st);
  m = Model::load(dir.path().string());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
}

TEST(WhisperModelBadFiles, MissingFilesAndBadConfig) {
  TempDir dir;
  auto m = Model::load((dir.path() / "nope").string());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  m = Model::load(dir.path().string());  // a folder without config.json
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_NE(m.status().message().find("config.json"), std::string::npos);

  testing::write_file(dir.path() / "config.json", "{\"vocab_size\": 10}");
  m = Model::load(dir.path().string());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);
  EXPECT_NE(m.status().message().find("num_mel_bins"), std::string::npos) << m.status().message();

  HParams hp = testing::small_hparams();
  hp.n_audio_head = 3;  // 16 is not a multiple of 3
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  m = Model::load(dir.path().string());
  EXPECT_EQ(m.status().code(), Code::kCorrupt);

  hp = testing::small_hparams();
  testing::write_file(dir.path() / "config.json", testing::hf_config(hp).dump());
  m = Model::load(dir.path().string());  // no model.safetensors
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace sf::asr::whisper
