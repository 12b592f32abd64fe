#include "pipeline/library_transcribe.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "asr/sphinx/adapt.h"
#include "asr/sphinx/denoise.h"
#include "asr/sphinx/sphinx_engine.h"
#include "core/log.h"
#include "media/probe.h"
#include "media/remote.h"
#include "store/fingerprint.h"

namespace sf::pipeline {
namespace {
constexpr int kAudioPathVersion = 3;  // 3: PocketSphinx without noise subtraction
}  // namespace

store::TranscriptKey transcript_key(const std::string& fingerprint, const TranscribeOptions& options) {
  const auto& e = options.engine;
  // "audio": the version of how audio reaches the engine (decoding,
  // placement in file time, segmentation). Raised when that changes words or
  // times, so transcripts made the old way are not reused.
  nlohmann::json o = {{"segment", options.max_segment}, {"audio", kAudioPathVersion}};
  // PocketSphinx hears audio through its noise reduction, with its model
  // fitted to noisy audio.
  if (e.engine == "sphinx") {
    o["denoise"] = asr::sphinx::kDenoiseVersion;
    o["adapt"] = asr::sphinx::kAdaptVersion;
  }
  // PocketSphinx's language is its model; only Whisper reads these.
  if (e.engine == "whisper") {
    o["language"] = e.language;
    // Batching changes how audio is cut into windows, so it changes words.
    o["task"] = e.task;
    o["beam_size"] = e.beam_size;
    o["batch_size"] = e.batch_size;
    o["prompt"] = e.initial_prompt;
    if (!e.hotwords.empty()) o["hotwords"] = e.hotwords;
    o["word_timestamps"] = e.word_timestamps;
    // The number format changes the arithmetic, so it may change words.
    if (e.compute_type != "auto") o["compute_type"] = e.compute_type;
  }
  return {fingerprint, e.engine, e.model, o.dump()};
}

Result<std::vector<InputTranscript>> transcribe_with_library(const std::vector<std::string>& paths,
                                                             const TranscribeOptions& options,
                                                             const LibraryOptions& library,
                                                             const ProgressFn& progress, LibraryStats* stats) {
  LibraryStats local;
  LibraryStats& st = stats != nullptr ? *stats : local;
  st = LibraryStats{};
  st.inputs = paths.size();
  if (!library.enabled) return transcribe_inputs(paths, options, progress);

  SF_ASSIGN_OR_RETURN(std::string file, store::library_path(library.path));
  SF_ASSIGN_OR_RETURN(auto lib, store::Library::open(file, /*create_folder=*/library.path.empty()));

  namespace fs = std::filesystem;
  struct Pending {
    store::TranscriptKey key;
    store::MediaDescription media;
  };
  std::vector<std::optional<InputTranscript>> found(paths.size());
  std::vector<Pending> pending(paths.size());
  std::vector<std::string> misses;
  std::vector<size_t> miss_index;
  std::vector<bool> storable(paths.size(), true);
  // Targeted search listens for the targets in the audio itself (its
  // evidence needs the decoder's lattice), so an input the library knows is
  // decoded again, unless the library has its hits for the same targets;
  // its one-best transcript still comes from the library. Hits are stored
  // for every local input, known or new.
  const bool targeted = !options.engine.target_words.empty() && options.engine.engine == "sphinx";
  const store::Library::TargetSearch search{options.engine.target_words, asr::sphinx::kTargetedPassVersion, ""};
  std::vector<std::optional<asr::Transcript>> library_copy(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    // A URL's content is not fingerprinted (that would read it all):
    // it is transcribed every time and not stored.
    if (media::is_http_url(paths[i]) || paths[i].find("://") != std::string::npos) {
      storable[i] = false;
      misses.push_back(paths[i]);
      miss_index.push_back(i);
      continue;
    }
    SF_ASSIGN_OR_RETURN(media::MediaInfo info, media::probe(paths[i]));
    const auto t0 = std::chrono::steady_clock::now();
    SF_ASSIGN_OR_RETURN(store::Fingerprint fp, store::fingerprint_file(paths[i], info.duration));
    st.hash_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::error_code ec;
    fs::path abs = fs::absolute(paths[i], ec);
    pending[i].key = transcript_key(fp.hex, options);
    pending[i].media = {ec ? paths[i] : abs.lexically_normal().string(), fs::path(paths[i]).stem().string(),
                        fp.size, info.duration};
    SF_ASSIGN_OR_RETURN(auto hit, lib->find(pending[i].key));
    std::optional<std::vector<asr::TargetHit>> known_hits;
    if (hit) {
      if (Status s = lib->remember_path(fp.hex, pending[i].media.path); !s.ok()) SF_LOG_WARN("{}", s.message());
      if (targeted) {
        SF_ASSIGN_OR_RETURN(known_hits, lib->find_hits(pending[i].key, search));
      }
    }
    if (hit && targeted && known_hits) {
      // Listened for these very targets before: nothing to decode.
      hit->transcript.hits = std::move(*known_hits);
      found[i] = InputTranscript{paths[i], hit->duration, std::move(hit->transcript)};
      ++st.known;
      ++st.targets_known;
      SF_LOG_DEBUG("library: {} known ({}), with its targeted hits", paths[i], fp.hex);
    } else if (hit && targeted) {
      library_copy[i] = std::move(hit->transcript);
      storable[i] = false;
      ++st.known;
      misses.push_back(paths[i]);
      miss_index.push_back(i);
      SF_LOG_DEBUG("library: {} known ({}); listening again for the targets", paths[i], fp.hex);
    } else if (hit) {
      found[i] = InputTranscript{paths[i], hit->duration, std::move(hit->transcript)};
      ++st.known;
      SF_LOG_DEBUG("library: {} known ({})", paths[i], fp.hex);
    } else {
      misses.push_back(paths[i]);
      miss_index.push_back(i);
    }
  }
  SF_LOG_INFO("library: {} of {} inputs known", st.known, paths.size());

  // input_done in input order: known inputs as soon as every input before
  // them is complete, transcribed ones as the pipeline finishes them.
  size_t next_done = 0;
  auto known_done = [&] {
    while (next_done < paths.size() && found[next_done]) {
      if (options.input_done) options.input_done(next_done, *found[next_done]);
      ++next_done;
    }
  };
  known_done();
  if (!misses.empty()) {
    // Each transcript is stored the moment its input is complete, so work
    // that is interrupted later (a stop, a crash) keeps what was done.
    std::vector<bool> stored(paths.size(), false);
    auto store = [&](size_t i, const InputTranscript& t) {
      // Hits are kept for every local input (a URL has no fingerprint).
      const bool keep_hits = targeted && !pending[i].key.fingerprint.empty();
      if (stored[i] || (!storable[i] && !keep_hits)) return;
      stored[i] = true;
      if (storable[i]) {
        if (Status s = lib->put(pending[i].key, pending[i].media, t.duration, t.transcript); !s.ok()) {
          SF_LOG_WARN("{}: transcript not stored in the library: {}", paths[i], s.message());
          return;
        }
      }
      if (keep_hits) {
        if (Status s = lib->put_hits(pending[i].key, search, t.transcript.hits); !s.ok()) {
          SF_LOG_WARN("{}: targeted hits not stored in the library: {}", paths[i], s.message());
        }
      }
    };
    // The library's one-best with the fresh targeted hits.
    auto with_library = [&](size_t i, InputTranscript t) {
      if (library_copy[i]) {
        std::vector<asr::TargetHit> hits = std::move(t.transcript.hits);
        t.transcript = *library_copy[i];
        t.transcript.hits = std::move(hits);
      }
      return t;
    };
    TranscribeOptions fresh_options = options;
    fresh_options.input_done = [&](size_t k, const InputTranscript& fresh) {
      const size_t i = miss_index[k];  // == next_done: the inputs before it are known and told
      store(i, fresh);
      if (!options.input_done) return;
      const InputTranscript t = library_copy[i] ? with_library(i, fresh) : InputTranscript{};
      options.input_done(i, library_copy[i] ? t : fresh);  // path is paths[i]
      next_done = i + 1;
      known_done();
    };
    SF_ASSIGN_OR_RETURN(auto fresh, transcribe_inputs(misses, fresh_options, progress));
    for (size_t k = 0; k < fresh.size(); ++k) {
      const size_t i = miss_index[k];
      fresh[k].path = paths[i];
      store(i, fresh[k]);
      found[i] = with_library(i, std::move(fresh[k]));
    }
  }
  known_done();  // what is left, should the pipeline not have told
  std::vector<InputTranscript> out;
  out.reserve(paths.size());
  for (auto& f : found) out.push_back(std::move(*f));
  return out;
}

Result<std::vector<InputTranscript>> library_inputs(const LibraryOptions& library,
                                                    const TranscribeOptions& preferred,
                                                    const std::vector<std::string>& phrases,
                                                    store::QueryMode mode,
                                                    std::vector<store::TranscriptKey>* keys) {
  if (keys != nullptr) keys->clear();
  SF_ASSIGN_OR_RETURN(std::string file, store::library_path(library.path));
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return not_found("library " + file + " does not exist yet: transcribe or supercut some media first");
  }
  SF_ASSIGN_OR_RETURN(auto lib, store::Library::open(file));
  SF_ASSIGN_OR_RETURN(auto media, lib->list());

  std::set<int64_t> wanted;
  if (!phrases.empty()) {
    store::SearchQuery q;
    q.phrases = phrases;
    q.mode = mode;
    SF_ASSIGN_OR_RETURN(auto hits, lib->search(q));
    for (const auto& h : hits) wanted.insert(h.media);
  }
  std::vector<InputTranscript> out;
  for (const auto& m : media) {
    if (!phrases.empty() && wanted.count(m.id) == 0) continue;
    if (m.transcripts.empty()) continue;
    std::string usable;
    std::string why = "no path known";
    for (const auto& p : m.paths) {
      if (!std::filesystem::exists(p, ec)) {
        why = p + " is gone";
        continue;
      }
      auto info = media::probe(p);
      if (!info.ok()) {
        why = info.status().message();
        continue;
      }
      auto fp = store::fingerprint_file(p, info->duration);
      if (!fp.ok()) {
        why = fp.status().message();
        continue;
      }
      if (fp->hex != m.fingerprint) {
        why = p + " changed since it was transcribed";
        continue;
      }
      usable = p;
      break;
    }
    const std::string name = m.title.empty() ? std::to_string(m.id) : std::to_string(m.id) + " (" + m.title + ")";
    if (usable.empty()) {
      SF_LOG_WARN("library: medium {} skipped: {}", name, why);
      continue;
    }
    SF_ASSIGN_OR_RETURN(auto t, lib->transcript_of(m.id, transcript_key(m.fingerprint, preferred)));
    if (!t) continue;
    if (keys != nullptr) keys->push_back({m.fingerprint, t->engine, t->model, t->options});
    out.push_back(InputTranscript{usable, t->duration, std::move(t->transcript)});
  }
  SF_LOG_INFO("library: {} medium(s) to cut from", out.size());
  return out;
}

}  // namespace sf::pipeline
