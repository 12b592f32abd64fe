// Configuration from the environment. Flags override environment variables,
// which override these defaults. The names and defaults are those of the
// compilation-server design studioflow succeeds, so existing deployments
// keep working.
//
// Every variable listed by env_vars() is read somewhere, has a kind and a
// range, and is checked by validate_env(), which the CLI runs once at
// startup before any command: a bad value is a kInvalidArgument error
// naming the variable, its value and what is allowed. A variable that is
// unset or empty takes its default.
//
// Not listed: ENABLE_CUDA_STREAMS of the seed design (one CUDA stream per
// engine instance). There is no CUDA engine yet; the variable returns with
// the CUDA backend.
//
// Who reads what: WHISPER_MODEL_SIZE the Whisper engine; MAX_SEGMENT_DOWNLOADS,
// MAX_CLIP_DOWNLOADS and PIPELINE_STAGE_TIMEOUT the resolve stage and libav
// network reads; the GPU_* / MAX_MODELS_PER_GPU / FORCE_SINGLE_GPU /
// MIN_GPU_UTILIZATION_THRESHOLD / DEBUG_GPU_ALLOCATION variables the
// capacity planner (gpu/planner.h); ENABLE_GPU_PROFILING,
// BASELINE_MEASUREMENT_DURATION and PERFORMANCE_MONITORING_INTERVAL the GPU
// sampler (gpu/sampler.h) and `gpu --plan`; GPU_WORKER_PROCESSES,
// WORKER_HEALTH_CHECK_INTERVAL, PROCESS_RESTART_THRESHOLD and
// TRANSCRIPTION_TIMEOUT the worker pool; ENABLE_PIPELINE_LOGGING the
// compilation job; SAVE_PROFILING_DATA `supercut`; STUDIOFLOW_LIBRARY the
// transcript library.
//
// Thread-safety: every function may be called from any thread, as long as
// nothing changes the environment meanwhile (setenv is not thread-safe).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::config {

// What a variable's value may be.
enum class Kind {
  kNumber,         // a decimal number in [min, max]
  kInteger,        // a whole number in [min, max]
  kFlag,           // 1/true/yes/on or 0/false/no/off (any case)
  kAutoOrInteger,  // "auto" or a whole number in [min, max]
  kPath,           // a file path: not an existing folder, not ending in '/'
  kModel,          // a Whisper model name (letters, digits, . _ -) or a path (has a '/')
  kSecret,         // at least 8 printable ASCII characters, no spaces; never printed
};

struct EnvVar {
  std::string_view name;
  std::string_view fallback;  // default when unset ("" = auto / off)
  std::string_view help;
  Kind kind = Kind::kFlag;
  double min = 0;  // kNumber / kInteger / kAutoOrInteger only
  double max = 0;
};

// Every variable studioflow reads, in a stable order.
std::span<const EnvVar> env_vars();

// "a number in 0..1", "1/true/yes/on or 0/false/no/off", ...: what `var`
// accepts, for messages and --help-env.
std::string allowed_text(const EnvVar& var);

// Checks one value against its variable's kind and range. OK for an empty
// value (unset). kInvalidArgument otherwise, e.g.
// "FORCE_SINGLE_GPU='maybe' is not valid: expected 1/true/yes/on or
// 0/false/no/off".
Status validate_value(const EnvVar& var, std::string_view value);

// Checks every variable of env_vars() that is set; the first bad one is the
// error (see validate_value).
Status validate_env();

// The value in force: the environment's if set and non-empty, else the default.
// REQUIRES: `name` is one of env_vars().
std::string env(std::string_view name);

// Parsed helpers. After validate_env() succeeded the value is always valid;
// a value that does not pass validate_value() (possible only where
// validation was skipped, as in a library caller) is logged and the default
// is used instead, so these always return a value in the variable's range.
double env_double(std::string_view name);
long env_int(std::string_view name);   // rounded toward zero
bool env_bool(std::string_view name);  // 1/true/yes/on (any case)
// kAutoOrInteger: empty for "auto" or unset, else the number.
std::optional<long> env_int_or_auto(std::string_view name);

// Text for `studioflow --help-env`: each variable, its value in force,
// whether it came from the environment, and what it accepts.
std::string describe_env();

}  // namespace sf::config
