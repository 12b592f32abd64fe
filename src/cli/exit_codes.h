// Process exit codes of the studioflow CLI.
#pragma once

#include "core/status.h"

namespace sf::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;       // a runtime failure (encoder, engine)
inline constexpr int kExitUsage = 2;       // bad flags or arguments
inline constexpr int kExitBadInput = 3;    // an input is missing, unreadable or not media
inline constexpr int kExitNoMatch = 4;     // nothing matched the words searched for
inline constexpr int kExitOutput = 5;      // the output cannot be written
inline constexpr int kExitCancelled = 130; // stopped by Ctrl-C / SIGTERM

// Exit code for a failed Status.
int exit_code_for(const Status& status);

}  // namespace sf::cli
