// Synthetic transcripts for benchmarking the library at scale (`studioflow
// bench search`): talks of ten-second segments of words drawn from a
// Zipf-distributed vocabulary at 2.5 words per second, like speech, so the
// index holds common words with long position lists and rare ones with short
// ones. Deterministic for a seed. Not thread-safe: one Library, one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/library.h"

namespace sf::store {

struct SyntheticLibraryOptions {
  double hours = 500;
  double talk_minutes = 60;  // length of one synthetic medium
  uint64_t seed = 1;
};

// The vocabulary synthetic talks are drawn from, most frequent first.
const std::vector<std::string>& synthetic_vocabulary();

// Adds talks until the library holds `hours` of synthetic transcripts
// (engine "synthetic"), reusing those already there. Returns the number of
// words in the library's synthetic transcripts.
Result<int64_t> fill_synthetic(Library* lib, const SyntheticLibraryOptions& options);

}  // namespace sf::store
