// The plugin's two entry points (plugin_abi.h). Exported with C linkage and
// default visibility; everything of the program they use (Session's type
// info and destructor, Status) is resolved against the executable that
// dlopens this library (it is linked with -rdynamic, see CMakeLists.txt).
#include <new>

#include "asr/whisper/cuda/cuda_session.h"
#include "asr/whisper/cuda/plugin_abi.h"

extern "C" __attribute__((visibility("default"))) int sf_whisper_cuda_abi_version() {
  return sf::asr::whisper::cuda::kAbiVersion;
}

extern "C" __attribute__((visibility("default"))) sf::Status sf_whisper_cuda_create_session(
    std::shared_ptr<const sf::asr::whisper::Model> model, const sf::asr::whisper::SessionOptions& options,
    std::unique_ptr<sf::asr::whisper::Session>* out) {
  if (out == nullptr) return sf::invalid_argument("whisper cuda: no output for the session");
  try {
    auto s = sf::asr::whisper::cuda::create_cuda_session(std::move(model), options);
    if (!s.ok()) return s.status();
    *out = std::move(s).value();
    return {};
  } catch (const std::bad_alloc&) {
    return sf::unavailable("whisper cuda: out of host memory setting up a session");
  }
}
