// The targeted pass over media the library already knows (search
// --targeted, supercut --from-library --targeted): it listens again to just
// the audio it needs, not to whole files.
//
// For each medium, hits the library holds for the same targets are taken as
// they are and nothing is decoded: those of a pass over the whole file
// (supercut --targeted -i FILE) first, else those of an earlier pass of this
// kind. Otherwise the places to listen are chosen from the stored one-best
// transcript alone (search/phonetic.h: runs of words that sound like a
// target, the one-best matches among them), and the file's audio is read
// and cut into segments as when it was transcribed; only the segments that
// hold such a place, or where the recognizer heard sound but hardly any
// words (noise hides what was said there), go to the engine. Each segment
// decoded is heard exactly as a pass over the whole file hears it, so its
// hits are that pass's; what can be missed is a target said where the
// one-best transcript has nothing like it. The hits are stored in the
// library under this pass's scope (Library::TargetSearch::scope), so the
// same search again decodes nothing.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/library_transcribe.h"
#include "pipeline/transcriber.h"
#include "store/library.h"

namespace sf::pipeline {

// The scope name of this pass's hits in the library; its number is raised
// whenever the choice of segments changes.
inline constexpr const char* kListenScope = "near-words/1";

struct ListenStats {
  size_t media = 0;           // media the pass applies to (PocketSphinx transcripts)
  size_t from_library = 0;    // of those, whose hits the library had: nothing decoded
  size_t decoded_media = 0;   // of which some audio was decoded
  double audio_seconds = 0;   // the duration of the media the pass applies to
  double decoded_seconds = 0; // the sound that went to the engine
};

// Sets inputs[i].transcript.hits for options.engine.target_words (which
// must not be empty), the inputs and their library keys as
// library_inputs() returns them; the one-best transcripts are not changed.
// Inputs whose transcript was not made by PocketSphinx are left as they
// are (their engine has no targeted pass). Hits that cannot be stored are
// a warning. Errors: the library cannot be opened, the dictionary cannot be
// read, an input cannot be decoded (naming it); kCancelled on a stop
// request. `progress` as for transcribe_inputs() (seconds of the files
// read); `stats` may be null. Call from one thread.
Status listen_for_targets(std::vector<InputTranscript>& inputs, const std::vector<store::TranscriptKey>& keys,
                          const TranscribeOptions& options, const LibraryOptions& library,
                          const ProgressFn& progress = {}, ListenStats* stats = nullptr);

// The media of the library where options.engine.target_words may have
// been said, for a targeted cut or search: library_inputs() of every medium
// (its path and transcript as there), listen_for_targets() on them, then
// those whose one-best transcript says a target (exact matching) or that
// have a targeted hit, in library order. With `fingerprints`, only the
// media with those fingerprints are looked at. With `keys`, it is set to
// the library key of each returned transcript. Errors as those two
// functions'.
Result<std::vector<InputTranscript>> targeted_library_inputs(const LibraryOptions& library,
                                                             const TranscribeOptions& options,
                                                             const ProgressFn& progress = {},
                                                             ListenStats* stats = nullptr,
                                                             const std::vector<std::string>& fingerprints = {},
                                                             std::vector<store::TranscriptKey>* keys = nullptr);

}  // namespace sf::pipeline
