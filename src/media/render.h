// Rendering a list of clips into one MP4, in one pass: all at once
// (render()) or appended while later clips are still being decided
// (Renderer).
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
// pieces, never held for a whole clip). Clip ranges of URL inputs are read
// ahead in parallel (RenderOptions::url_readers): each reader opens the
// input, seeks and reads the clip's packets into memory (at most
// kReadAheadBytes a clip; the rest is read when the clip is decoded), so the
// network latency of one clip overlaps with the others and with decoding.
// The output does not depend on how clips were read.
//
// The file is written under a temporary name in the output's folder and
// renamed when complete: on any error nothing is left at `output`.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/probe.h"

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
  int gop_size = 0;           // frames between keyframes; 0: the encoder's default (edit proxies: short)
  std::string timecode;       // start timecode of the output ("01:00:00:00", a tmcd track); empty: none
  std::string edit_codec;     // "prores" | "dnxhr": a MOV in that editing codec instead of an H.264 MP4
  // A job's stop flag, polled with the process-wide one (may be null; must
  // outlive the call).
  const std::atomic<bool>* cancel = nullptr;
  // Clips read ahead in parallel, each by its own reader, for URL inputs
  // (the job passes MAX_CLIP_DOWNLOADS) and for local files. <= 1: the
  // cutting thread reads each clip itself when it comes to it, reusing one
  // demuxer for consecutive clips of an input.
  int url_readers = 8;
  int local_readers = 1;
};

// Bytes of packets one reader holds for a clip read ahead.
inline constexpr size_t kReadAheadBytes = 16u << 20;

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

// Called with output seconds rendered so far and the total (for a Renderer:
// the output seconds of the clips added so far, in whole frames, so `done`
// ends exactly at `total`). May be empty.
using RenderProgressFn = std::function<void(double done, double total)>;

// One output being rendered, clip after clip, while the caller is still
// deciding the later clips. add() only queues; decoding and encoding run on
// the renderer's own threads, so the caller's work overlaps with them.
//
//   auto r = Renderer::open(out, options, &first_video_input_info);
//   (*r)->add(clip) ...;   // in output order
//   auto result = (*r)->finish();
//
// The output is exactly what render() makes of the same clips. It is
// written under a temporary name and appears at `output` only when
// finish() succeeds; a Renderer destroyed before that stops its threads and
// removes the temporary file. One thread at a time may call add()/finish().
class Renderer {
 public:
  // Checks `output` and opens the encoder. The profile (size, frame rate)
  // is what `options` sets, the rest from `profile_source`'s video stream
  // (its displayed size and frame rate): render() uses the first clip's
  // input that has video. Null, or no video: 1280x720 @ 30.
  // `progress` is called on the renderer's encoding thread, one call at a
  // time. Errors: kInvalidArgument (size or rate out of range),
  // kPermission for the output, kUnavailable when a forced encoder does not
  // work.
  static Result<std::unique_ptr<Renderer>> open(const std::string& output, const RenderOptions& options,
                                                const MediaInfo* profile_source, RenderProgressFn progress = {});
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Appends `clip` after those added before; returns at once. Errors:
  // kInvalidArgument for an empty or negative clip (nothing is queued), the
  // render's first error once it has one (an unreadable input, a failed
  // encoder, a stop request: finish() then returns the same), and
  // kInternal after finish().
  Status add(const RenderClip& clip);

  // Renders what was added, waits for it, and moves the file into place.
  // Errors: kInvalidArgument when no clip was added (nothing is written),
  // else as render()'s. Call once.
  Result<RenderResult> finish();

  int width() const;
  int height() const;
  double fps() const;
  // Output seconds `clip` takes: its length in whole frames (at least one).
  double output_length(const RenderClip& clip) const;

  struct Impl;

 private:
  explicit Renderer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend Result<RenderResult> render(const std::vector<RenderClip>&, const std::string&, const RenderOptions&,
                                     const RenderProgressFn&);
};

// Renders `clips` in the given order into `output` (MP4, H.264 + AAC): a
// Renderer opened with the profile of the first clip's input that has
// video, fed every clip, finished. Blocking; `progress` is called on the
// calling thread. Independent calls may run in parallel.
// Errors: kInvalidArgument (no clips, end <= start, bad size/fps),
// kNotFound / kBadMedia for inputs, kPermission for the output,
// kUnavailable when a forced encoder does not work.
Result<RenderResult> render(const std::vector<RenderClip>& clips, const std::string& output,
                            const RenderOptions& options, const RenderProgressFn& progress = {});

}  // namespace sf::media
