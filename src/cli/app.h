// The studioflow command line: one binary, one subcommand per job.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace sf::cli {

// Parses argv, runs the chosen subcommand, returns the process exit code
// (see cli/exit_codes.h).
int run(int argc, char** argv);

// A registered subcommand: the CLI11 node and what to run when it was parsed.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Each subcommand file adds its command(s) to `app` and `out`.
void register_supercut(CLI::App& app, std::vector<Command>& out);
void register_transcribe(CLI::App& app, std::vector<Command>& out);
void register_gpu(CLI::App& app, std::vector<Command>& out);
void register_whisper_tools(CLI::App& app, std::vector<Command>& out);  // whisper-probe, model
void register_bench(CLI::App& app, std::vector<Command>& out);
void register_bench_search(CLI::App* bench, std::vector<Command>& out);  // bench search
void register_bench_export(CLI::App* bench, std::vector<Command>& out);  // bench export
void register_search(CLI::App& app, std::vector<Command>& out);
void register_library(CLI::App& app, std::vector<Command>& out);  // library list, library forget
void register_serve(CLI::App& app, std::vector<Command>& out);    // the HTTP service
void register_import(CLI::App& app, std::vector<Command>& out);   // studio import
void register_worker(CLI::App& app, std::vector<Command>& out);   // internal: a pool's worker process

}  // namespace sf::cli
