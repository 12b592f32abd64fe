// Content fingerprints of media files: what the transcript library is keyed
// by, so a renamed or copied file is still known and a changed one is not.
//
// The fingerprint is XXH3-128 over the file's size, its duration (from the
// caller's probe, in milliseconds) and its bytes:
//
//  * files up to kFullHashLimit (256 MiB) are hashed whole;
//  * larger files are hashed over their first and last 16 MiB plus 64 blocks
//    of 64 KiB at evenly spaced offsets in between (36 MiB read at most).
//
// Why sampled above the limit: XXH3 runs at memory speed (~10 GB/s here),
// so a whole-file hash is bound by the disk: a 4 GB recording costs ~40 s on
// a 100 MB/s disk or an uncached network share on every run, which would
// cost more than the transcription the library saves for short searches.
// The head and tail carry the container's index (MP4 moov, Matroska cues and
// seek heads), which changes with any re-encode, re-mux or trim; size and
// duration change with any edit that adds or removes material. What goes
// undetected is an in-place change of media bytes that keeps size, duration,
// head, tail and all 64 sampled blocks identical: that takes a deliberate
// byte-for-byte patch inside the stream, not an edit in a tool.
//
// The path is never part of the fingerprint. Thread-safe (pure function).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace sf::store {

inline constexpr uint64_t kFullHashLimit = 256ull << 20;

struct Fingerprint {
  std::string hex;      // "xxh3-128:<32 hex digits>", the library key
  uint64_t size = 0;    // bytes
  bool sampled = false;  // true when the file was hashed by samples
};

// Fingerprints the file at `path`; `duration` is its duration in seconds as
// probed (part of the key). Errors name the path: kNotFound, kPermission,
// kBadMedia (an empty file or a folder).
Result<Fingerprint> fingerprint_file(const std::string& path, double duration);

}  // namespace sf::store
