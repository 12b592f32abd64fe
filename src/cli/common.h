// Flags shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "pipeline/library_transcribe.h"
#include "pipeline/transcriber.h"
#include "store/library.h"

namespace sf::cli {

// Adds --engine, --model, --language, --threads, --workers, --beam-size,
// --batch-size, --initial-prompt to `cmd`, writing into `opts`.
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

}  // namespace sf::cli
