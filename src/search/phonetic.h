// Where a target may have been said although the one-best transcript does
// not say it: the runs of transcript words whose phones come close to the
// target's. The targeted pass over a transcript already in the library
// listens again to those places only (pipeline/library_targeted.h), not to
// the whole file: a recognizer that misses a word in noise mostly hears
// words that sound like it ("europe" as "your up"), so the places it needs
// can be chosen from the transcript without audio.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asr/transcript.h"

namespace sf::search {

// Phones as small numbers (asr/sphinx/pronunciations.h gives them).
using Phones = std::vector<uint8_t>;
// The phones of a normalized token; empty when it cannot be pronounced.
using PronounceFn = std::function<Phones(std::string_view token)>;

// The cost of the cheapest edit (insert, delete or substitute a phone, each
// 1; a vowel for another vowel 0.5: the confusion noise makes most often)
// that turns `query` into some run of consecutive phones of `text`, and
// that run: [*begin, *end) (when not null). `vowels` has bit p set when
// phone p is a vowel. An empty query costs 0 (an empty run at 0); an empty
// text costs the query's length.
double closest_run(std::span<const uint8_t> query, std::span<const uint8_t> text, uint64_t vowels,
                   size_t* begin = nullptr, size_t* end = nullptr);

struct PhoneticQuery {
  std::string query;  // the target phrase (normalized tokens joined by spaces)
  Phones phones;      // its tokens' phones, one after the other
};

struct ListenOptions {
  // A run of words is a place to listen when its cost (closest_run) is at
  // most this much per phone of the query, and at least 1 phone is right.
  double max_cost_per_phone = 0.34;
  // Seconds added before and after each place.
  double pad = 0.5;
};

struct TimeSpan {
  double start = 0, end = 0;  // seconds, file time
};

// The places of `transcript` where one of `queries` may have been said:
// every run of consecutive words of a segment whose phones (`pronounce` of
// each word's tokens, search::tokenize()) are within
// options.max_cost_per_phone of a query's, the one-best matches included;
// words that cannot be pronounced count as no phones. Padded by
// options.pad, merged where they overlap, in time order. Queries without
// phones are left out.
std::vector<TimeSpan> listening_spans(const asr::Transcript& transcript, std::span<const PhoneticQuery> queries,
                                      const PronounceFn& pronounce, uint64_t vowels,
                                      const ListenOptions& options = {});

}  // namespace sf::search
