#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>

namespace sf::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}
}  // namespace

void init(Level level) {
  static bool made = false;
  if (!made) {
    auto logger = spdlog::stderr_color_mt("studioflow");
    logger->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
    spdlog::set_default_logger(logger);
    made = true;
  }
  g_level = level;
  spdlog::set_level(to_spdlog(level));
}

bool parse_level(std::string_view name, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug}, {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"error", Level::kError}, {"off", Level::kOff}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

Level current_level() { return g_level; }

}  // namespace sf::log
