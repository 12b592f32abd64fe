// Noise reduction in front of the embedded recognizer.
//
// PocketSphinx's acoustic model was trained on clean speech, and at 10 dB
// SNR of steady noise its one-best transcript holds almost none of the
// words said. denoise() takes out the steady part of the noise before the
// recognizer hears it: a short-time spectral gain (Wiener rule with a
// decision-directed a-priori SNR and a gain floor) against a noise
// spectrum estimated from the quietest frames of the same audio.
//
// The estimate comes from the audio passed in and nothing else, so a
// segment's transcript stays a function of its own audio (whatever the
// worker, the order of segments or a retry). Audio whose quietest frames
// are far below its loud ones (clean recordings, digital silence between
// phrases) is returned unchanged, and so is audio whose noise is not
// steady: voices in the background (babble) and music come and go, and a
// fixed noise spectrum subtracted from them removes more speech than
// noise; the recognizer hears them as they are.
#pragma once

#include <span>
#include <vector>

namespace sf::asr::sphinx {

// The version of what denoise() does to audio, raised whenever that
// changes; part of a PocketSphinx transcript's library key, so transcripts
// heard through another front end are not reused.
inline constexpr int kDenoiseVersion = 2;

struct DenoiseOptions {
  // Fraction of frames, lowest energy first, that make the noise spectrum.
  double noise_quantile = 0.1;
  // Smallest gain applied to a frequency bin (0.1 = -20 dB): deeper
  // suppression leaves "musical" noise the recognizer hears as phones.
  float gain_floor = 0.1f;
  // Weight of the previous frame's clean estimate in the a-priori SNR.
  float smoothing = 0.95f;
  // Audio whose loud frames stand this many dB above its noise estimate is
  // clean enough to be left alone.
  double clean_snr_db = 30;
  // Noise whose quiet frames spread more than this (noise_spread_db) is not
  // steady (voices in the background, music) and is left alone: one
  // spectrum subtracted from it takes speech out where the noise is
  // quiet and leaves noise where it is loud.
  double steady_spread_db = 3.5;
};

// The estimated SNR of `audio` (16 kHz mono) in dB: mean power of the
// louder half of its frames over the mean power of its quietest
// noise_quantile; +inf for audio shorter than one frame or with silent
// frames.
double estimate_snr_db(std::span<const float> audio, const DenoiseOptions& options = {});

// How steady the noise of `audio` is: the energy of its noise_quantile-th
// quietest frame over that of its 1 %-th quietest, in dB (on the recall
// bench's 4-10 s stretches: 1.1-4.1 dB, median 1.7, for pink noise under
// speech; median 5 for a babble of voices, 3.4-3.9 for a music bed). 0 for
// audio shorter than one frame.
double noise_spread_db(std::span<const float> audio, const DenoiseOptions& options = {});

// estimate_snr_db() and noise_spread_db() of `audio` from one analysis.
struct NoiseLevels {
  double snr_db = 0;
  double spread_db = 0;
};
NoiseLevels noise_levels(std::span<const float> audio, const DenoiseOptions& options = {});

// `audio` (16 kHz mono, any length) with its steady noise reduced, same
// length and timing (no delay). Returns it unchanged when its estimated
// SNR is at least options.clean_snr_db, or when its noise is not steady
// (noise_spread_db above options.steady_spread_db). When `levels` is given
// it receives noise_levels(audio), from the same analysis.
std::vector<float> denoise(std::span<const float> audio, const DenoiseOptions& options = {},
                           NoiseLevels* levels = nullptr);

}  // namespace sf::asr::sphinx
