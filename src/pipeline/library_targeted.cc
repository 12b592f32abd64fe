#include "pipeline/library_targeted.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "asr/sphinx/pronunciations.h"
#include "asr/sphinx/sphinx_engine.h"
#include "core/log.h"
#include "search/matcher.h"
#include "search/normalize.h"
#include "search/phonetic.h"

namespace sf::pipeline {
namespace {

// A segment where the one-best transcript has fewer words than one per this
// many seconds of sound is listened to again: the recognizer heard sound
// there but made little of it.
constexpr double kSecondsPerWordAtMost = 2.0;

// What one input needs: the places to listen and its words' middles.
struct Plan {
  std::vector<search::TimeSpan> spans;
  std::vector<double> word_middles;  // sorted
};

bool wanted(const Plan& plan, double start, double end) {
  for (const auto& s : plan.spans) {
    if (s.start < end && s.end > start) return true;
  }
  const auto lo = std::lower_bound(plan.word_middles.begin(), plan.word_middles.end(), start);
  const auto hi = std::lower_bound(plan.word_middles.begin(), plan.word_middles.end(), end);
  const double words = static_cast<double>(hi - lo);
  return words * kSecondsPerWordAtMost < end - start;
}

}  // namespace

Status listen_for_targets(std::vector<InputTranscript>& inputs, const std::vector<store::TranscriptKey>& keys,
                          const TranscribeOptions& options, const LibraryOptions& library,
                          const ProgressFn& progress, ListenStats* stats) {
  ListenStats local;
  ListenStats& st = stats != nullptr ? *stats : local;
  st = ListenStats{};
  const std::vector<std::string>& targets = options.engine.target_words;
  if (targets.empty()) return invalid_argument("the targeted pass needs target words");
  if (keys.size() != inputs.size()) return internal_error("listen_for_targets: one key per input");

  SF_ASSIGN_OR_RETURN(std::string file, store::library_path(library.path));
  SF_ASSIGN_OR_RETURN(auto lib, store::Library::open(file));
  const store::Library::TargetSearch whole{targets, asr::sphinx::kTargetedPassVersion, ""};
  const store::Library::TargetSearch part{targets, asr::sphinx::kTargetedPassVersion, kListenScope};

  std::vector<size_t> todo;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (keys[i].engine != "sphinx") continue;
    ++st.media;
    st.audio_seconds += inputs[i].duration;
    SF_ASSIGN_OR_RETURN(auto hits, lib->find_hits(keys[i], whole));
    if (!hits) {
      SF_ASSIGN_OR_RETURN(hits, lib->find_hits(keys[i], part));
    }
    if (hits) {
      inputs[i].transcript.hits = std::move(*hits);
      ++st.from_library;
      continue;
    }
    todo.push_back(i);
  }
  if (todo.empty()) return {};

  SF_ASSIGN_OR_RETURN(auto dict, asr::sphinx::Pronunciations::load(options.engine.model));
  std::vector<search::PhoneticQuery> queries;
  for (const std::string& phrase : targets) {
    search::PhoneticQuery q{phrase, {}};
    for (const std::string& token : search::tokenize(phrase)) {
      const std::vector<asr::sphinx::PhoneId> p = dict->of(token);
      if (p.empty()) {  // the engine warns about it and does not search for it
        q.phones.clear();
        break;
      }
      q.phones.insert(q.phones.end(), p.begin(), p.end());
    }
    queries.push_back(std::move(q));
  }
  const uint64_t vowels = asr::sphinx::vowel_mask();
  auto pronounce = [&](std::string_view token) { return dict->of(token); };

  std::vector<Plan> plans(todo.size());
  std::vector<std::string> paths;
  for (size_t k = 0; k < todo.size(); ++k) {
    const asr::Transcript& t = inputs[todo[k]].transcript;
    plans[k].spans = search::listening_spans(t, queries, pronounce, vowels);
    for (const asr::Word& w : t.words()) plans[k].word_middles.push_back(0.5 * (w.start + w.end));
    std::sort(plans[k].word_middles.begin(), plans[k].word_middles.end());
    paths.push_back(inputs[todo[k]].path);
  }

  std::mutex mu;
  std::vector<bool> decoded(todo.size(), false);  // GUARDED_BY(mu)
  double decoded_seconds = 0;                     // GUARDED_BY(mu)
  TranscribeOptions topt = options;
  topt.input_done = {};
  topt.segment_wanted = [&](size_t k, double start, double end) {
    if (!wanted(plans[k], start, end)) return false;
    std::lock_guard lock(mu);
    decoded[k] = true;
    decoded_seconds += end - start;
    return true;
  };
  SF_ASSIGN_OR_RETURN(auto heard, transcribe_inputs(paths, topt, progress));
  st.decoded_seconds = decoded_seconds;
  for (size_t k = 0; k < todo.size(); ++k) {
    const size_t i = todo[k];
    if (decoded[k]) ++st.decoded_media;
    inputs[i].transcript.hits = std::move(heard[k].transcript.hits);
    if (Status s = lib->put_hits(keys[i], part, inputs[i].transcript.hits); !s.ok()) {
      SF_LOG_WARN("{}: targeted hits not stored in the library: {}", inputs[i].path, s.message());
    }
  }
  SF_LOG_INFO("targeted pass: {:.1f} s of {:.1f} s of audio listened to again in {} of {} media", st.decoded_seconds,
              st.audio_seconds, st.decoded_media, st.media);
  return {};
}

Result<std::vector<InputTranscript>> targeted_library_inputs(const LibraryOptions& library,
                                                             const TranscribeOptions& options,
                                                             const ProgressFn& progress, ListenStats* stats,
                                                             const std::vector<std::string>& fingerprints,
                                                             std::vector<store::TranscriptKey>* keys) {
  std::vector<store::TranscriptKey> all_keys;
  SF_ASSIGN_OR_RETURN(auto all, library_inputs(library, options, {}, store::QueryMode::kExact, &all_keys));
  std::vector<InputTranscript> inputs;
  std::vector<store::TranscriptKey> input_keys;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!fingerprints.empty() &&
        std::find(fingerprints.begin(), fingerprints.end(), all_keys[i].fingerprint) == fingerprints.end()) {
      continue;
    }
    inputs.push_back(std::move(all[i]));
    input_keys.push_back(std::move(all_keys[i]));
  }
  SF_RETURN_IF_ERROR(listen_for_targets(inputs, input_keys, options, library, progress, stats));
  SF_ASSIGN_OR_RETURN(search::Matcher matcher,
                      search::Matcher::create(options.engine.target_words, search::MatchMode::kExact));
  std::vector<InputTranscript> out;
  if (keys != nullptr) keys->clear();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].transcript.hits.empty() && matcher.find(0, inputs[i].transcript.words()).empty()) continue;
    out.push_back(std::move(inputs[i]));
    if (keys != nullptr) keys->push_back(input_keys[i]);
  }
  return out;
}

}  // namespace sf::pipeline
