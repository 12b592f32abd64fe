#include "cli/app.h"

namespace sf::cli {

void register_whisper_tools(CLI::App& app, std::vector<Command>& out) {
  (void)app;
  (void)out;
}

}  // namespace sf::cli
