// Flags shared by several subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "pipeline/transcriber.h"

namespace sf::cli {

// Adds --engine, --model, --language, --threads, --workers, --beam-size,
// --batch-size, --initial-prompt to `cmd`, writing into `opts`.
void add_engine_flags(CLI::App* cmd, pipeline::TranscribeOptions* opts);

// Prints "studioflow: <message>" on stderr and returns the exit code for it.
int fail(const Status& status);

}  // namespace sf::cli
