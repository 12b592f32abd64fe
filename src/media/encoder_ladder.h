// The H.264 encoder ladder: which encoder studioflow uses on this machine.
// This header is free of libav types (the CLI reads it); the encoder
// session the renderer drives is in media/encoders.h.
//
// Ladder, best first:
//   h264_nvenc (preset p4) -> h264_qsv (preset medium) -> h264_vaapi ->
//   h264_amf (quality balanced) -> libx264 (preset fast, crf 23).
// A candidate is usable only if libavcodec has it, it opens with the
// settings the renderer uses, AND it encodes a real frame (a 256x144
// picture, then a flush, yielding at least one packet). Being compiled in
// proves nothing: an H100 has CUDA but no NVENC, and VAAPI needs a render
// node with an H.264 encode entry point. Each rejection is logged at info
// level ("encoder h264_nvenc rejected: <reason>") and kept in the probe.
//
// Thread-safety: all functions may be called from any thread; each
// candidate is probed at most once per process (std::call_once) and the
// outcome cached.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sf::media {

// One rung of the ladder.
struct EncoderChoice {
  std::string name;    // libavcodec encoder name, e.g. "h264_nvenc"
  std::string preset;  // "p4", "medium", "balanced", "fast"; empty = driver default (vaapi)
  std::string kind;    // "nvenc", "qsv", "vaapi", "amf" or "cpu"
};

// The outcome of probing one candidate.
struct EncoderProbe {
  std::string name;
  std::string kind;
  bool usable = false;
  std::string reason;  // why it was rejected; empty when usable
};

// The candidates in ladder order. No probing; never fails.
const std::vector<EncoderChoice>& encoder_ladder();

// Every candidate probed, in ladder order. The first call probes (tens of
// milliseconds, more where a driver loads); later calls return the cache.
const std::vector<EncoderProbe>& probe_encoders();

// The encoder to use.
//  - `forced` non-empty (--encoder NAME): that encoder. kInvalidArgument if
//    it is not on the ladder (the message lists the names that are);
//    kUnavailable naming it and the probe's reason if it does not work here;
//    kInvalidArgument if `cpu_only` is also set and NAME is not libx264.
//  - `cpu_only` (--cpu): libx264.
//  - otherwise the first usable candidate, probing only as far down the
//    ladder as needed.
// kUnavailable if nothing usable is left (not even libx264).
Result<EncoderChoice> choose_encoder(std::string_view forced, bool cpu_only);

// The encoder for an editing codec of proxies (MOV only, software):
// "prores" -> prores_ks with the ProRes 422 Proxy profile, "dnxhr" ->
// dnxhd with the DNxHR LB profile. kInvalidArgument for another name,
// kUnavailable when libavcodec lacks the encoder.
Result<EncoderChoice> edit_encoder(std::string_view codec);

// Runs the usability check on `choice` now, bypassing the cache: opens a
// session at 256x144, encodes one frame, flushes, expects a packet.
Status check_encoder(const EncoderChoice& choice);

}  // namespace sf::media
