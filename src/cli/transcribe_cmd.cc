#include "cli/app.h"

namespace sf::cli {

void register_transcribe(CLI::App& app, std::vector<Command>& out) {
  (void)app;
  (void)out;
}

}  // namespace sf::cli
