#include "asr/engine.h"

#include "asr/sphinx/sphinx_engine.h"
#include "asr/whisper/whisper_engine.h"

namespace sf::asr {

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options) {
  if (options.engine == "sphinx") return sphinx::create_engine(options);
  if (options.engine == "whisper") return whisper::create_engine(options);
  return invalid_argument("unknown engine '" + options.engine + "' (expected sphinx or whisper)");
}

}  // namespace sf::asr
