// An energy voice-activity detector that cuts long audio into chunks of at
// most 30 s at silences, for batched Whisper inference (each chunk is one
// encoder window).
//
// Frame energies (RMS, dB) over 30-ms frames are compared with a threshold
// between the recording's noise floor (10th percentile) and its peak;
// speech runs closer than min_silence are joined, padded, and packed into
// chunks that never exceed max_chunk. A speech run longer than max_chunk is
// split at its quietest frame in the second half of the span. Pure
// function; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sf::asr::whisper {

struct VadOptions {
  int sample_rate = 16000;
  double frame_seconds = 0.03;
  double min_silence = 0.3;   // shorter pauses stay inside a speech run
  double min_speech = 0.1;    // shorter bursts are dropped
  double pad = 0.2;           // added around each speech run
  double max_chunk = 30.0;    // seconds
  double min_range_db = 10;   // below this peak-to-floor range: all speech
  double silence_db = -60;    // quieter than this is never speech
};

struct SpeechChunk {
  int64_t start = 0;  // samples, inclusive
  int64_t end = 0;    // samples, exclusive; end - start <= max_chunk
};

// Chunks of `audio` that hold speech, in time order, non-overlapping.
// Empty for silent audio.
std::vector<SpeechChunk> vad_chunks(std::span<const float> audio, const VadOptions& options = {});

}  // namespace sf::asr::whisper
