// Flags and helpers shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/library_transcribe.h"
#include "pipeline/transcriber.h"
#include "store/library.h"

namespace sf::cli {

// Adds --engine, --model, --language, --threads, --workers, --in-process,
// --beam-size, --batch-size, --initial-prompt to `cmd`, writing into `opts`.
// Sets opts->processes: commands transcribe on worker processes unless
// --in-process is given.
void add_engine_flags(CLI::App* cmd, pipeline::TranscribeOptions* opts);

// Adds --library PATH and --no-library to `cmd`, writing into `opts`
// (without --library: $STUDIOFLOW_LIBRARY, else the default file).
void add_library_flags(CLI::App* cmd, pipeline::LibraryOptions* opts);

// Opens the library named by `opts` for reading and pruning: an absent file
// is an error (kNotFound) here, not a new empty library.
Result<std::unique_ptr<store::Library>> open_existing_library(const pipeline::LibraryOptions& opts);

// The media id for a --media / forget argument: an id, a fingerprint, a
// path the medium was seen at, or a file whose content is in the library.
// kNotFound naming the argument otherwise.
Result<int64_t> resolve_media(store::Library* lib, const std::string& arg);

// Prints "studioflow: <message>" on stderr and returns the exit code for it.
int fail(const Status& status);

// File names (no folder) for one output per input, in input order: each
// input's base name with its extension replaced by `extension` (".srt").
// Inputs with the same base name (a/talk.mp4, b/talk.mp4, talk.wav) get
// distinct names: the first keeps "talk.srt", later ones "talk-2.srt",
// "talk-3.srt", ..., skipping names already given in this list.
std::vector<std::string> output_names(const std::vector<std::string>& inputs, std::string_view extension);

// Runs one command body at the command boundary: an exception that escapes
// it becomes a clear error on stderr ("out of memory while <what>" for
// std::bad_alloc, the exception's message otherwise), every registered
// temporary file is removed (core/files.h), and the exit code is 1
// (kExitError). Otherwise returns the body's exit code. `what` names the
// work, e.g. "running supercut".
int run_guarded(std::string_view what, const std::function<int()>& body);

}  // namespace sf::cli
