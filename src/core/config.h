// Configuration from the environment. Flags override environment variables,
// which override these defaults. The names and defaults are those of the
// compilation-server design studioflow succeeds, so existing deployments
// keep working.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sf::config {

struct EnvVar {
  std::string_view name;
  std::string_view fallback;  // default when unset ("" = auto / off)
  std::string_view help;
};

// Every variable studioflow reads, in a stable order.
std::span<const EnvVar> env_vars();

// The value in force: the environment's if set and non-empty, else the default.
// REQUIRES: `name` is one of env_vars().
std::string env(std::string_view name);

// Parsed helpers; a malformed value falls back to the default (and is logged).
double env_double(std::string_view name);
long env_int(std::string_view name);
bool env_bool(std::string_view name);  // 1/true/yes/on

// Text for `studioflow --help-env`: each variable, its value in force and
// whether it came from the environment.
std::string describe_env();

}  // namespace sf::config
