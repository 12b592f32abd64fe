// How long a PocketSphinx acoustic model expects each of its phones to
// last, read from the model's own files.
//
// Each phone is a left-to-right hidden Markov model whose transition
// matrix says how long it stays in each state: the expected number of
// frames from entering its first state to leaving its last (the mean time
// to absorption of that chain) is the phone's expected length. Targeted
// search (search/fusion.h) judges a spotter's detection by how long it
// lasted against the length the model expects of the target's phones:
// noise imitates a word in fewer frames than people take to say it, and a
// word of short phones ("europe": Y UH R AH P) is said faster than one of
// long ones ("teachers": T IY CH ER Z).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/status.h"

namespace sf::asr::sphinx {

// The expected length in seconds of each context-independent phone of the
// acoustic model in `hmm_dir` (its binary `mdef` names the phones and their
// transition matrices, `transition_matrices` holds them; either byte
// order), at `frame_rate` frames a second. Keys are the model's phone
// names ("AH", "SIL", "+NSN+", ...). Errors: kNotFound for a missing file,
// kCorrupt (naming the file) for one that is not what PocketSphinx writes.
Result<std::map<std::string, double>> expected_phone_seconds(const std::filesystem::path& hmm_dir, int frame_rate);

}  // namespace sf::asr::sphinx
