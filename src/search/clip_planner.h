// Turning matches into the clips of a supercut.
//
// plan_clips() decides which stretch of which input each output clip shows:
// each match is padded so a word is not cut mid-breath, clamped to its
// input, and near matches are merged so the cut does not stutter. The
// result is in output order, (input index, start), and respects the caps.
//
// All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "search/matcher.h"

namespace sf::search {

// Comparisons of times against merge_gap and the length caps allow this much
// floating-point slack, so a gap computed as 2.0000000000000004 s still counts
// as "equal to 2 s".
inline constexpr double kTimeEpsilon = 1e-6;

// A clip shortened by max_length must keep at least this many seconds.
inline constexpr double kMinShortenedClip = 0.5;

struct ClipOptions {
  double padding_before = 1.0;  // seconds added before each match (--padding-before)
  double padding_after = 1.0;   // seconds added after each match (--padding-after)
  // Clips of the same input whose gap after padding is <= merge_gap seconds
  // are merged into one (overlapping clips always merge) (--merge-gap).
  double merge_gap = 2.0;
  // Total seconds of output: clips are kept in order until the cap (--max-length).
  std::optional<double> max_length;
  // At most this many clips, the first ones in order (--max-clips).
  std::optional<int> max_clips;
};

struct Clip {
  int input = 0;
  double start = 0, end = 0;       // seconds in the input, padded, clamped to [0, duration]
  std::vector<std::string> words;  // words of every match merged into this clip, in order
  // The matches the clip shows, in time order (those cut off by max_length
  // left out), and the highest of their confidences.
  std::vector<Match> matches;
  float confidence = 0;

  double length() const { return end - start; }
};

// Validates options. Errors (kInvalidArgument) name the flag and the value:
// a negative or non-finite padding or merge gap ("--padding-before must be a
// number >= 0, got -1"), a max_length that is <= 0 or non-finite
// ("--max-length must be > 0 ..."), max_clips <= 0 ("--max-clips must be > 0 ...").
Status validate(const ClipOptions& options);

// Plans the clips of a supercut. REQUIRES: validate(options).ok().
//
//  1. Each match becomes [start - padding_before, end + padding_after] of its
//     input. A match whose end is before its start is taken as ending at its
//     start. Matches with a negative input index or non-finite times are
//     ignored.
//  2. The range is clamped to [0, durations[input]]. A duration that is
//     missing (input index past the end of `durations`), zero, negative or
//     non-finite means "unknown": no upper clamp. A clip with no length (a
//     match entirely past the known end, or an instant match without
//     padding) is dropped.
//  3. Clips of the same input that overlap, or whose gap is <= merge_gap
//     (within kTimeEpsilon: a gap exactly equal to merge_gap merges), become
//     one clip. Clips of different inputs never merge.
//  4. Clips are ordered by (input index, start), whatever the order of
//     `matches`. A clip's words are those of its matches in time order; a
//     match spoken inside an earlier match of the same clip (the same words
//     found by two queries) adds no words, and a match that overlaps the end
//     of an earlier one adds only the words not already listed.
//  5. max_clips keeps the first max_clips clips.
//  6. max_length keeps clips in order while their total length fits. The
//     first clip that does not fit entirely is shortened (its end moved
//     earlier) to fill the remaining time if at least kMinShortenedClip
//     seconds remain and at least one of its matches still ends inside the
//     shortened clip; its words are then those of the matches that end
//     inside (so are its matches). Otherwise it is dropped. Either way no later clip is kept: the
//     plan stays a prefix of the full plan and never skips ahead.
std::vector<Clip> plan_clips(std::vector<Match> matches, std::span<const double> durations,
                             const ClipOptions& options);

}  // namespace sf::search
