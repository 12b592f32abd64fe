#include "cli/app.h"

int main(int argc, char** argv) { return sf::cli::run(argc, argv); }
