#include "search/clip_planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace sf::search {
namespace {

Status check_non_negative(std::string_view flag, double value) {
  if (std::isfinite(value) && value >= 0) return {};
  return invalid_argument(fmt::format("{} must be a number >= 0, got {}", flag, value));
}

// A match placed in a clip: enough to shorten the clip later without
// cutting into a match.
struct Piece {
  double raw_end = 0;
  std::size_t words_after = 0;  // clip.words.size() once this match was added
};

struct Draft {
  Clip clip;
  double covered_end = 0;  // latest unpadded match end so far
  std::vector<Piece> pieces;
};

struct Placed {
  Match match;
  double start = 0, end = 0;  // unpadded, end >= start
};

void add_words(Draft& d, const Placed& p) {
  std::vector<std::string>& words = d.clip.words;
  const std::vector<std::string>& add = p.match.words;
  std::size_t skip = 0;
  if (!d.pieces.empty() && p.start < d.covered_end) {
    if (p.end <= d.covered_end) {
      skip = add.size();  // spoken inside an earlier match: its words are listed
    } else {
      // Overlaps the end of earlier matches: its first words are already the
      // clip's last ones. Times per word are not in a Match, so find the
      // longest suffix of the clip's words that is a prefix of the match's.
      for (std::size_t k = std::min(words.size(), add.size()); k > 0; --k) {
        if (std::equal(add.begin(), add.begin() + static_cast<std::ptrdiff_t>(k),
                       words.end() - static_cast<std::ptrdiff_t>(k))) {
          skip = k;
          break;
        }
      }
    }
  }
  words.insert(words.end(), add.begin() + static_cast<std::ptrdiff_t>(skip), add.end());
  d.clip.matches.push_back(p.match);
  d.clip.confidence = std::max(d.clip.confidence, p.match.confidence);
  d.covered_end = d.pieces.empty() ? p.end : std::max(d.covered_end, p.end);
  d.pieces.push_back(Piece{p.end, words.size()});
}

}  // namespace

Status validate(const ClipOptions& options) {
  SF_RETURN_IF_ERROR(check_non_negative("--padding-before", options.padding_before));
  SF_RETURN_IF_ERROR(check_non_negative("--padding-after", options.padding_after));
  SF_RETURN_IF_ERROR(check_non_negative("--merge-gap", options.merge_gap));
  if (options.max_length && !(std::isfinite(*options.max_length) && *options.max_length > 0)) {
    return invalid_argument(
        fmt::format("--max-length must be a number of seconds > 0, got {}", *options.max_length));
  }
  if (options.max_clips && *options.max_clips <= 0) {
    return invalid_argument(fmt::format("--max-clips must be > 0, got {}", *options.max_clips));
  }
  return {};
}

std::vector<Clip> plan_clips(std::vector<Match> matches, std::span<const double> durations,
                             const ClipOptions& options) {
  // Defensive against unvalidated options: never pad or merge negatively.
  const double before = std::max(0.0, options.padding_before);
  const double after = std::max(0.0, options.padding_after);
  const double gap = std::max(0.0, options.merge_gap);

  std::vector<Placed> placed;
  placed.reserve(matches.size());
  for (Match& m : matches) {
    if (m.input < 0 || !std::isfinite(m.start) || !std::isfinite(m.end)) continue;
    const double start = m.start;
    const double end = std::max(m.start, m.end);
    placed.push_back(Placed{std::move(m), start, end});
  }
  // Padding and clamping are monotonic in the start time, so this order is
  // also the order of the padded clips.
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    if (a.match.input != b.match.input) return a.match.input < b.match.input;
    if (a.start != b.start) return a.start < b.start;
    return a.end < b.end;
  });

  std::vector<Draft> drafts;
  for (const Placed& p : placed) {
    const auto input = static_cast<std::size_t>(p.match.input);
    double start = std::max(0.0, p.start - before);
    double end = p.end + after;
    if (input < durations.size() && std::isfinite(durations[input]) && durations[input] > 0) {
      start = std::min(start, durations[input]);
      end = std::min(end, durations[input]);
    }
    if (end - start <= 0) continue;

    if (!drafts.empty() && drafts.back().clip.input == p.match.input &&
        start - drafts.back().clip.end <= gap + kTimeEpsilon) {
      Draft& d = drafts.back();
      d.clip.end = std::max(d.clip.end, end);
      add_words(d, p);
      continue;
    }
    Draft d;
    d.clip.input = p.match.input;
    d.clip.start = start;
    d.clip.end = end;
    add_words(d, p);
    drafts.push_back(std::move(d));
  }

  if (options.max_clips &&
      static_cast<std::size_t>(std::max(0, *options.max_clips)) < drafts.size()) {
    drafts.resize(static_cast<std::size_t>(std::max(0, *options.max_clips)));
  }

  std::vector<Clip> clips;
  clips.reserve(drafts.size());
  double total = 0;
  for (Draft& d : drafts) {
    if (!options.max_length) {
      clips.push_back(std::move(d.clip));
      continue;
    }
    const double remaining = *options.max_length - total;
    if (d.clip.length() <= remaining + kTimeEpsilon) {
      total += d.clip.length();
      clips.push_back(std::move(d.clip));
      continue;
    }
    if (remaining >= kMinShortenedClip - kTimeEpsilon) {
      const double new_end = d.clip.start + remaining;
      std::size_t keep_words = 0;
      bool any = false;
      for (const Piece& piece : d.pieces) {
        if (piece.raw_end > new_end + kTimeEpsilon) break;
        keep_words = piece.words_after;
        any = true;
      }
      if (any) {
        d.clip.end = new_end;
        d.clip.words.resize(keep_words);
        std::erase_if(d.clip.matches, [&](const Match& m) {
          return std::max(m.start, m.end) > new_end + kTimeEpsilon;
        });
        d.clip.confidence = 0;
        for (const Match& m : d.clip.matches) d.clip.confidence = std::max(d.clip.confidence, m.confidence);
        clips.push_back(std::move(d.clip));
      }
    }
    break;  // the plan is a prefix: nothing after the first clip that did not fit
  }
  return clips;
}

}  // namespace sf::search
