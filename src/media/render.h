// Rendering a list of clips into one MP4, in one pass.
//
// Clip times are file time: seconds from the input's start as a player shows
// it (stream timestamps minus the container's start time), so a transport
// stream whose clock starts at an hour cuts the same moments as the same
// content starting at zero.
//
// For each clip the renderer seeks to the keyframe before its start, decodes
// only up to its end and drops frames before the start (frame-accurate
// cuts, by timestamp: output frame k shows the last source frame at or
// before its time, so variable frame rate and B-frames cut exactly). Every
// clip is converted to one output profile by one libavfilter graph per
// source: deinterlaced when the input is interlaced, turned upright by its
// display rotation, scaled and letterboxed (keeping the display aspect) to
// one size, yuv420p; one constant frame rate, 48 kHz stereo AAC. Audio gets
// a short fade at each clip edge so cuts do not click; it is placed by
// timestamp (a hole in the source becomes silence) but kept contiguous
// across decoded frames, and each clip's audio is exactly as long as its
// frames, so sync never drifts. Inputs without video (or with only cover
// art) render over black.
//
// Decoding and filtering run on a second thread a bounded queue ahead of the
// encoder; memory does not grow with clip length (sound is streamed in
// pieces, never held for a whole clip).
//
// The file is written under a temporary name in the output's folder and
// renamed when complete: on any error nothing is left at `output`.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::media {

struct RenderClip {
  std::string path;    // input file
  double start = 0;    // seconds of file time (see above)
  double end = 0;      // seconds, > start
};

struct RenderOptions {
  int width = 0, height = 0;  // 0: the first video input's displayed (upright) size (1280x720 if none)
  double fps = 0;             // 0: the first video input's frame rate (30 if none)
  std::string encoder;        // force one encoder by name (--encoder); empty: ladder
  bool cpu_only = false;      // --cpu: libx264
  int audio_rate = 48000;
  int audio_bitrate = 160000;
  double fade = 0.015;        // seconds of fade in/out at each clip edge
  // A job's stop flag, polled with the process-wide one (may be null; must
  // outlive the call).
  const std::atomic<bool>* cancel = nullptr;
};

struct RenderedClip {
  double output_start = 0, output_end = 0;  // seconds in the output
  long long frames = 0;
};

struct RenderResult {
  std::string encoder;  // encoder actually used, e.g. "libx264"
  std::string preset;
  int width = 0, height = 0;
  double fps = 0;
  double duration = 0;  // seconds of output
  long long frames = 0;
  std::vector<RenderedClip> clips;  // one per input clip, same order
};

// Called with output seconds rendered so far and the total. May be empty.
using RenderProgressFn = std::function<void(double done, double total)>;

// Renders `clips` in the given order into `output` (MP4, H.264 + AAC).
// Blocking; `progress` is called on the calling thread. Independent calls
// may run in parallel.
// Errors: kInvalidArgument (no clips, end <= start, bad size/fps),
// kNotFound / kBadMedia for inputs, kPermission for the output,
// kUnavailable when a forced encoder does not work.
Result<RenderResult> render(const std::vector<RenderClip>& clips, const std::string& output,
                            const RenderOptions& options, const RenderProgressFn& progress = {});

}  // namespace sf::media
