// Transcription with the transcript library in front: inputs whose content
// is already in the library (same fingerprint, engine, model and options
// that change words) are not transcribed again; the others are transcribed
// by transcribe_inputs() and stored.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/transcriber.h"
#include "store/library.h"

namespace sf::pipeline {

struct LibraryOptions {
  bool enabled = true;  // false: --no-library, transcribe everything, store nothing
  std::string path;     // --library; "" = store::library_path("")
};

struct LibraryStats {
  size_t inputs = 0;
  // Found in the library: not transcribed, except that with targeted
  // search (options.engine.target_words, sphinx) they are decoded again to
  // listen for the targets, their one-best transcript still the library's.
  size_t known = 0;
  // Of those, the inputs whose targeted hits for the same targets came from
  // the library too: not decoded at all.
  size_t targets_known = 0;
  double hash_seconds = 0;  // spent fingerprinting
};

// The library key of a file with `fingerprint` transcribed with `options`.
store::TranscriptKey transcript_key(const std::string& fingerprint, const TranscribeOptions& options);

// As transcribe_inputs() (same results, same order, same errors for bad
// inputs), but with the library: logs "library: N of M inputs known",
// transcribes only the others and stores each of their transcripts as soon
// as that input is complete (so an interrupted run keeps the inputs it
// finished: a resumed task transcribes only the rest). A library that
// cannot be opened (damaged, newer schema, unwritable) is an error naming
// the file; a transcript that cannot be stored afterwards is a warning (the
// result is still returned). `stats` may be null. Call from one thread.
// options.input_done is called for every input, known ones included, in
// input order: a known input as soon as the inputs before it are told
// (those at the front before any transcription starts).
Result<std::vector<InputTranscript>> transcribe_with_library(const std::vector<std::string>& paths,
                                                             const TranscribeOptions& options,
                                                             const LibraryOptions& library,
                                                             const ProgressFn& progress = {},
                                                             LibraryStats* stats = nullptr);

// The media of the library to cut from (supercut --from-library), each as
// an InputTranscript whose path is the medium's most recently seen path that
// still holds the same content. With `phrases` (exact or prefix mode), only
// media where the library's index finds one of them; without, every medium.
// Of several transcripts of one medium, the one made with `preferred`'s
// engine, model and options is taken, else the newest. Media whose files
// are gone or changed are skipped with a warning naming them. Ordered by
// media id (the order they entered the library). Errors: the library cannot
// be opened, or does not exist (kNotFound). With `keys`, it is set to the
// library key of each returned transcript, in the same order.
Result<std::vector<InputTranscript>> library_inputs(const LibraryOptions& library,
                                                    const TranscribeOptions& preferred,
                                                    const std::vector<std::string>& phrases,
                                                    store::QueryMode mode,
                                                    std::vector<store::TranscriptKey>* keys = nullptr);

}  // namespace sf::pipeline
