#include "asr/whisper/whisper_engine.h"

namespace sf::asr::whisper {

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options) {
  (void)options;
  return unsupported("the whisper engine is not built into this version");
}

}  // namespace sf::asr::whisper
