#include "asr/sphinx/adapt.h"

#include <gtest/gtest.h>
#include <pocketsphinx.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace sf::asr::sphinx {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(SF_SPHINX_MODELDIR) / "en-us" / "en-us";

TEST(ModelGaussians, TheInstalledModelHasThreeStreamsOfThirteen) {
  auto g = read_model_gaussians(kModel, 1e-4f);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->streams.size(), 3u);
  for (const auto& s : g->streams) {
    EXPECT_EQ(s.dims, 13);
    // One codebook per context-independent phone (a phonetically tied
    // model), many densities each.
    EXPECT_GE(s.count, 40 * 64);
    ASSERT_EQ(s.mean.size(), static_cast<size_t>(s.dims) * s.count);
    for (float v : s.var) ASSERT_GE(v, 1e-4f);
  }
}

TEST(ModelGaussians, AMissingOrBrokenFileIsNamed) {
  const fs::path dir = fs::temp_directory_path() / ("sf-adapt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto missing = read_model_gaussians(dir, 1e-4f);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find((dir / "means").string()), std::string::npos);
  fs::copy_file(kModel / "means", dir / "means");
  std::ofstream(dir / "variances") << "s3\nversion 1.0\nendhdr\n";
  auto broken = read_model_gaussians(dir, 1e-4f);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find((dir / "variances").string()), std::string::npos);
  fs::remove_all(dir);
}

TEST(FitModelTo, NoisyAudioWhoseNoiseIsSteadyEnough) {
  EXPECT_TRUE(fit_model_to({10, 1.5}));                       // pink noise at 10 dB
  EXPECT_TRUE(fit_model_to({10, kAdaptMostSpreadDb}));        // a music bed spreads less
  EXPECT_FALSE(fit_model_to({5, kAdaptMostSpreadDb + 0.5}));  // loud babble: other voices
  EXPECT_FALSE(fit_model_to({kAdaptBelowSnrDb, 1.0}));        // clean enough as it is
  EXPECT_FALSE(fit_model_to({std::numeric_limits<double>::infinity(), 0}));
}

// A model of one stream, two dimensions: 60 Gaussians of variance 0.5
// strewn over [-12, 12] x [-12, 12].
ModelGaussians strewn_model() {
  ModelGaussians::Stream s;
  s.dims = 2;
  s.count = 60;
  // Dimension-major: the first dimension's means, then the second's.
  s.mean.resize(2 * s.count);
  s.var.assign(2 * s.count, 0.5f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> at(-12, 12);
  for (auto& v : s.mean) v = at(rng);
  ModelGaussians m;
  m.streams.push_back(s);
  return m;
}

// Frames drawn from the model's Gaussians moved by x' = A x + b.
std::vector<std::vector<float>> moved_frames(const ModelGaussians& m, double a00, double a11,
                                             double b0, double b1, int frames) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, std::sqrt(0.5));
  const auto& s = m.streams[0];
  std::uniform_int_distribution<int> pick(0, s.count - 1);
  std::vector<std::vector<float>> out;
  for (int f = 0; f < frames; ++f) {
    const int k = pick(rng);
    const double x = a00 * s.mean[k] + b0 + noise(rng) * a00;
    const double y = a11 * s.mean[s.count + k] + b1 + noise(rng) * a11;
    out.push_back({static_cast<float>(x), static_cast<float>(y)});
  }
  return out;
}

TEST(EstimateMllr, FindsTheTransformThatMovedTheSpeech) {
  const ModelGaussians m = strewn_model();
  // The data squeezed to 0.7 of the model's spread and shifted, as noise
  // does to cepstra.
  const auto frames = moved_frames(m, 0.8, 0.9, 1.0, -0.5, 4000);
  MllrOptions o;
  o.frame_step = 1;
  o.iterations = 8;
  o.prior_frames = 1;
  const MllrTransform t = estimate_mllr(m, frames, o);
  ASSERT_EQ(t.streams.size(), 1u);
  const auto& s = t.streams[0];
  EXPECT_NEAR(s.a[0], 0.8, 0.05);
  EXPECT_NEAR(s.a[3], 0.9, 0.05);
  EXPECT_NEAR(s.a[1], 0.0, 0.05);
  EXPECT_NEAR(s.a[2], 0.0, 0.05);
  EXPECT_NEAR(s.b[0], 1.0, 0.2);
  EXPECT_NEAR(s.b[1], -0.5, 0.2);
  // The spread around each mean shrank with the data: the variances are
  // scaled by about the square of the squeeze.
  EXPECT_NEAR(s.h[0], 0.64, 0.1);
  EXPECT_NEAR(s.h[1], 0.81, 0.1);
}

TEST(EstimateMllr, LittleAudioMovesTheModelLittle) {
  const ModelGaussians m = strewn_model();
  const auto frames = moved_frames(m, 0.8, 0.8, 1.0, 1.0, 40);
  MllrOptions o;
  o.frame_step = 1;
  o.prior_frames = 2000;
  const MllrTransform held = estimate_mllr(m, frames, o);
  o.prior_frames = 1;
  const MllrTransform free = estimate_mllr(m, frames, o);
  EXPECT_GT(held.streams[0].a[0], 0.97);
  EXPECT_LT(std::abs(held.streams[0].b[0]), 0.1);
  EXPECT_LT(free.streams[0].a[0], 0.9);
  // No audio: the model as it is.
  const MllrTransform none = estimate_mllr(m, {}, o);
  EXPECT_EQ(none.streams[0].a, (std::vector<double>{1, 0, 0, 1}));
  EXPECT_EQ(none.streams[0].b, (std::vector<double>{0, 0}));
  EXPECT_EQ(none.streams[0].h, (std::vector<double>{1, 1}));
}

TEST(EstimateMllr, AFrameThatIsNotANumberCountsNothing) {
  const ModelGaussians m = strewn_model();
  auto frames = moved_frames(m, 0.8, 0.9, 1.0, -0.5, 200);
  MllrOptions o;
  o.frame_step = 1;
  const MllrTransform clean = estimate_mllr(m, frames, o);
  frames.insert(frames.begin() + 10, std::vector<float>{std::nanf(""), 1.0f});
  frames.insert(frames.begin() + 20, std::vector<float>{2.0f, INFINITY});
  const MllrTransform t = estimate_mllr(m, frames, o);
  EXPECT_EQ(t.streams[0].a, clean.streams[0].a);
  EXPECT_EQ(t.streams[0].b, clean.streams[0].b);
  EXPECT_EQ(t.streams[0].h, clean.streams[0].h);
  EXPECT_LT(t.streams[0].a[0], 0.95);
}

TEST(EstimateMllr, PocketSphinxReadsTheTransformFile) {
  const ModelGaussians m = strewn_model();
  const MllrTransform t = estimate_mllr(m, moved_frames(m, 0.8, 0.9, 1.0, -0.5, 500));
  const fs::path file =
      fs::temp_directory_path() / ("sf-adapt-" + std::to_string(::getpid()) + ".mllr");
  std::ofstream(file) << mllr_file_text(t);
  ps_mllr_t* read = ps_mllr_read(file.c_str());
  EXPECT_NE(read, nullptr);
  ps_mllr_free(read);
  // A file cut short is refused.
  std::string text = mllr_file_text(t);
  std::ofstream(file) << text.substr(0, text.size() / 2);
  EXPECT_EQ(ps_mllr_read(file.c_str()), nullptr);
  fs::remove(file);
}

}  // namespace
}  // namespace sf::asr::sphinx
