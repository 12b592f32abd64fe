// Logging: one spdlog logger for the whole process, on stderr.
//
// Use the SF_LOG_* macros (fmt syntax). C libraries (libav, PocketSphinx)
// are routed into the same logger by their wrappers. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace sf::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Configures the process logger. Safe to call more than once.
void init(Level level);

// Parses "trace|debug|info|warn|error|off"; returns false on an unknown name.
bool parse_level(std::string_view name, Level* out);

Level current_level();

}  // namespace sf::log

#define SF_LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define SF_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define SF_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define SF_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define SF_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
