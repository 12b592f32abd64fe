// The PocketSphinx engine on Debian's US-English model: the embedded default.
#pragma once

#include <memory>

#include "asr/engine.h"

namespace sf::asr::sphinx {

// The version of the targeted pass (what TargetHits it reports for given
// audio and targets: spotter thresholds, lattice candidates, scores),
// raised whenever that changes; hits kept in the library by another
// version are not reused.
inline constexpr int kTargetedPassVersion = 4;

// Loads the acoustic model, language model and dictionary. options.model
// may name a model folder holding en-us/, en-us.lm.bin and
// cmudict-en-us.dict; empty means Debian's pocketsphinx-en-us. Each engine
// holds its own decoder (about 30 MB); make one per thread. Thread-safe:
// engines may be made on several threads at once (the loading itself is
// serialized, as PocketSphinx's logging and configuration are process-wide);
// its log lines go to our logger.
Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options);

}  // namespace sf::asr::sphinx
