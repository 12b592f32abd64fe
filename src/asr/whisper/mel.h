// Whisper's log-mel spectrogram front end.
//
// Computed exactly as Whisper does: 16 kHz audio, n_fft 400 (25 ms), hop 160
// (10 ms), periodic Hann window, centered STFT with reflect padding, the
// last frame dropped, power spectrum, Slaney-normalized mel filters
// (Slaney mel scale, 0..8000 Hz), log10 clamped at 1e-10, floored at
// (max - 8), then (x + 4) / 4.
//
// Thread-safety: all functions may be called from any thread (FFT plans are
// created under an internal mutex).
#pragma once

#include <span>
#include <vector>

#include "core/status.h"

namespace sf::asr::whisper {

inline constexpr int kMelSampleRate = 16000;
inline constexpr int kNFft = 400;
inline constexpr int kHopLength = 160;
inline constexpr int kNFreq = kNFft / 2 + 1;               // 201 bins
inline constexpr int kWindowSamples = 30 * kMelSampleRate;  // 480000
inline constexpr int kWindowFrames = kWindowSamples / kHopLength;  // 3000

// The mel filter bank: n_mels x kNFreq floats, row-major (filter m's weight
// for FFT bin k at [m * kNFreq + k]). Slaney mel scale and area
// normalization (2 / (f_hi - f_lo)), as librosa.filters.mel(sr=16000,
// n_fft=400, n_mels, htk=False, norm="slaney"). REQUIRES: n_mels > 0.
std::vector<float> mel_filters(int n_mels);

// One 30-s window: `audio` (16 kHz mono) is zero-padded or trimmed to
// 480000 samples, then transformed. Returns n_mels x 3000 floats,
// row-major (mel bin major). The (max - 8) floor uses this window's max.
// Errors: kInvalidArgument for n_mels <= 0.
Result<std::vector<float>> log_mel_spectrogram(std::span<const float> audio, int n_mels);

// A log-mel spectrogram of any length, as Whisper's long-form transcription
// computes it: `audio` followed by `pad_samples` zeros, frames =
// (audio.size() + pad_samples) / 160, normalized with the max over the
// whole input. Memory beyond the result stays bounded however long the
// input is (frames are transformed in blocks; the padding is virtual).
struct Mel {
  int n_mels = 0;
  int n_frames = 0;
  std::vector<float> data;  // n_mels x n_frames, row-major
};
Result<Mel> log_mel_spectrogram_long(std::span<const float> audio, int n_mels,
                                     int pad_samples = kWindowSamples);

// The 30-s window of `mel` starting at frame `offset`: n_mels x 3000 floats,
// frames past mel's end are zero (Whisper's pad_or_trim on the spectrogram).
// REQUIRES: 0 <= offset.
std::vector<float> mel_window(const Mel& mel, int offset);

}  // namespace sf::asr::whisper
