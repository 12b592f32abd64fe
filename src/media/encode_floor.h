// The render floor: what encoding alone costs.
//
// Encodes a synthetic moving picture, generated in memory, with exactly the
// encoder the renderer would use (choose_encoder + VideoEncoder, same MP4
// muxer flags) and, optionally, the renderer's AAC audio settings. Nothing
// is decoded, scaled or seeked, so the time it takes is the least any
// render of the same number of frames can take on this machine: the
// benchmark's yardstick for media::render.
#pragma once

#include <string>

#include "core/status.h"

namespace sf::media {

struct EncodeFloorOptions {
  long long frames = 0;       // > 0
  int width = 0, height = 0;  // even, 16..8192
  double fps = 0;             // 1..240
  std::string encoder;        // as RenderOptions::encoder
  bool cpu_only = false;      // as RenderOptions::cpu_only
  bool audio = true;          // also encode the matching length of AAC (speech-like babble)
};

struct EncodeFloorResult {
  long long frames = 0;
  double seconds = 0;       // wall time from choosing the encoder to the closed file
                            // (making the synthetic picture and sound is not counted)
  double fps_encoded = 0;   // frames / seconds
  std::string encoder, preset;
};

// Encodes into `output` (an MP4 the caller owns and may delete). Not
// thread-safe with respect to `output`; otherwise independent calls may run
// in parallel. Errors: kInvalidArgument (frames, size or fps out of range),
// kPermission for the output, kUnavailable when a forced encoder does not
// work.
Result<EncodeFloorResult> encode_floor(const EncodeFloorOptions& options, const std::string& output);

}  // namespace sf::media
