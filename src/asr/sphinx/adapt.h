// Adapting the embedded recognizer's acoustic model to the audio it hears.
//
// PocketSphinx's model was trained on clean speech. Noise moves and
// squeezes the features it is given (the energy coefficient's spread falls
// from 23-37 to 4-9 at pink noise 10 dB), so every Gaussian of the model
// sits where clean speech would be and the right words score as low as
// the wrong ones. estimate_mllr() fits a maximum-likelihood linear
// regression of the model's means (one affine transform per feature
// stream, and a scale of its variances) to the features of the audio
// itself: the model moves to where this audio's speech is.
//
// No transcript is needed: every Gaussian of the model, weighed equally,
// stands for the speech it could hear (an unsupervised fit), and the
// transform is drawn towards leaving the model as it is in proportion to
// how little audio there is. The fit depends on the audio passed in and
// nothing else. Audio under other voices (babble) is not fitted: the fit
// would move the model towards the background speakers too
// (fit_model_to()).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "asr/sphinx/denoise.h"
#include "core/status.h"

namespace sf::asr::sphinx {

// The version of how the model is fitted to the audio it hears, raised
// whenever that changes; part of a PocketSphinx transcript's library key
// (like kDenoiseVersion).
inline constexpr int kAdaptVersion = 2;

// Audio whose estimated SNR (estimate_snr_db(), denoise.h) is below this
// many dB is heard through a model fitted to it; cleaner audio through the
// model as it is.
inline constexpr double kAdaptBelowSnrDb = 30;

// ... unless its noise is this unsteady (noise_spread_db(), denoise.h):
// other voices (babble), loud enough to spread the quiet frames' energies
// this far, are speech the fit would fit the model to as well. Steady
// noise and a music bed spread less (denoise.h).
inline constexpr double kAdaptMostSpreadDb = 4.5;

// Whether audio of these noise levels (noise_levels(), denoise.h) is heard
// through a model fitted to it: noisy (below kAdaptBelowSnrDb) and its
// noise no more unsteady than kAdaptMostSpreadDb.
inline bool fit_model_to(const NoiseLevels& noise) {
  return noise.snr_db < kAdaptBelowSnrDb && noise.spread_db <= kAdaptMostSpreadDb;
}

// The Gaussians of a PocketSphinx acoustic model (its `means` and
// `variances` files), per feature stream: Gaussian g's mean and variance of
// dimension j at [j * count + g] (dimension-major, for speed).
struct ModelGaussians {
  struct Stream {
    int dims = 0;
    int count = 0;  // codebooks x densities
    std::vector<float> mean, var;
  };
  std::vector<Stream> streams;
};

// Reads `hmm_dir`/means and `hmm_dir`/variances (PocketSphinx's binary
// parameter layout), variances floored at `var_floor` as PocketSphinx
// floors them.
Result<ModelGaussians> read_model_gaussians(const std::filesystem::path& hmm_dir, float var_floor);

// An affine transform of a model's means (mean' = A mean + b) and a scale
// of its variances (var' = h var), one per feature stream.
struct MllrTransform {
  struct Stream {
    int dims = 0;
    std::vector<double> a;  // dims x dims, row-major
    std::vector<double> b;  // dims
    std::vector<double> h;  // dims
  };
  std::vector<Stream> streams;
};

struct MllrOptions {
  // EM iterations of the fit.
  int iterations = 3;
  // Weight of "leave the model as it is", in frames of audio: a short
  // stretch moves the model little.
  double prior_frames = 200;
  // Every how many frames one is used for the fit.
  int frame_step = 2;
};

// The transform under which `model` best explains `features` (frames x the
// streams' dimensions, concatenated in stream order); a frame that is not
// a number counts nothing. Identity for no frames, and when the fit comes
// out not a number.
MllrTransform estimate_mllr(const ModelGaussians& model,
                            const std::vector<std::vector<float>>& features,
                            const MllrOptions& options = {});

// `transform` as PocketSphinx's MLLR file reads it (ps_mllr_read).
std::string mllr_file_text(const MllrTransform& transform);

}  // namespace sf::asr::sphinx
