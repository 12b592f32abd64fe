#include "cli/app.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  return sf::cli::run_guarded("starting", [argc, argv] { return sf::cli::run(argc, argv); });
}
