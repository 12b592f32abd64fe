// Targeted search: weighing the evidence for each place a target was heard
// into one confidence.
//
// A supercut knows its target words before it listens, so besides matching
// the one-best transcript (Matcher) the engine searches for the targets
// themselves (asr::EngineOptions::target_words): a keyword spotter and the
// word posteriors of the decoder's lattice report candidate places
// (asr::TargetHit). fuse() joins a one-best match and the hits of the same
// query at the same place into one candidate, and confidence() turns its
// evidence into a probability that the query was really said there.
//
// All functions are pure and thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asr/transcript.h"
#include "search/matcher.h"

namespace sf::search {

// The default --min-confidence, calibrated for precision: on the degraded
// speech of bench/recall/run.py (seven voices; pink, babble and music at
// 20, 10 and 5 dB, reverberation, the telephone band, speed 0.9 and 1.1;
// heard through the model fitted to the noisy audio, asr/sphinx/adapt.h)
// it keeps precision >= 0.9 in every condition but babble at 5 dB on four
// of the seven voices (0.83, 0.88) and the telephone band on two (0.897).
// With the trust that noise adds to candidates the one-best transcript
// lacks, 0.6 lets it fall to 0.74-0.85 at pink and babble 10 dB and 0.78
// at music 10 dB, for at most 0.08 more of the words (bench/RESULTS.md).
inline constexpr double kDefaultMinConfidence = 0.75;

// The phrase an engine searches for `query`: its tokens (tokenize())
// joined by one space; "" when it has none. Only exact-mode queries are
// searched for (a prefix or a pattern names no words to listen for).
std::string target_phrase(std::string_view query);

// The target phrases of `matcher`'s queries (exact mode; otherwise none),
// in query order, without duplicates.
std::vector<std::string> target_phrases(const Matcher& matcher);

// The probability, in [0, 1], that the query was said where `evidence`
// puts it. Monotonic: more evidence never lowers it (a one-best match, a
// higher spotter score, a higher posterior, a longer spotter detection
// each raise it), with one exception below. A spotter score
// counts for more the more phones the query has: short words are easily
// heard in noise (the per-length threshold of the targeted search). A
// spotter-only candidate whose detection was squeezed into less time than
// people take to say the query's phones (Evidence::phone_seconds against
// Evidence::expected_seconds, the length the acoustic model expects of
// those phones; a fixed length a phone when that is unknown) loses
// confidence, down to below what no evidence at all gives: that is how
// noise imitates a word, and the posteriors at such a place are the
// biased model's expectation more than what was heard. A detection longer
// than people speak earns nothing more; a one-best match is not affected.
// A candidate the one-best transcript lacks counts for more in noisy audio
// (Evidence::snr_db below 30 dB), where the one-best transcript loses
// words, the more so the higher the SNR and the steadier the noise
// (Evidence::noise_spread_db): voices and music in the background imitate
// words more than steady noise does. In clean audio, or without a
// measure of the noise, nothing is added.
// A one-best match alone scores above kDefaultMinConfidence.
float confidence(const Evidence& evidence);

// The candidates of one input: `one_best` (Matcher::find() on its words)
// joined with `hits` (its transcript's targeted hits). A hit joins a match
// or an earlier hit of the same query that overlaps it in time (their
// evidence is combined: the better score of each kind, the spotter's
// phone_seconds from its best-scoring detection); one that joins
// nothing is a new candidate, its words the query's. The times of a
// candidate are its one-best match's if it has one, else those of its
// best-scoring hit. Hits of queries not in `queries` (the matcher's, as the
// caller gave them) are ignored. Every candidate's confidence is set; those
// below `min_confidence` are dropped. Sorted by (start, end).
std::vector<Match> fuse(int input, std::vector<Match> one_best, std::span<const asr::TargetHit> hits,
                        std::span<const std::string> queries, double min_confidence);

}  // namespace sf::search
