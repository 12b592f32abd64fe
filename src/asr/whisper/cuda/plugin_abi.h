// The contract between the program and the CUDA backend plugin.
//
// The CUDA backend lives in its own shared library (kPluginFileName, next
// to the studioflow executable), so that one build runs on machines with
// and without CUDA: the program opens it with dlopen only where a CUDA
// device exists (backend.h: cuda_availability()). The plugin is built from
// the same sources with the same compiler, so C++ types cross the boundary;
// kAbiVersion changes whenever Session, SessionOptions or Model change
// shape, and a plugin of another version is refused.
//
// The plugin exports, with C linkage:
//   int sf_whisper_cuda_abi_version();           returns kAbiVersion
//   sf::Status sf_whisper_cuda_create_session(   a Session on
//       std::shared_ptr<const Model> model,      options.device (CUDA),
//       const SessionOptions& options,           weights shared per device
//       std::unique_ptr<Session>* out);          and process
#pragma once

#include <memory>

#include "asr/whisper/model/session.h"

namespace sf::asr::whisper::cuda {

inline constexpr const char* kPluginFileName = "libstudioflow_whisper_cuda.so";
inline constexpr const char* kAbiVersionSymbol = "sf_whisper_cuda_abi_version";
inline constexpr const char* kCreateSessionSymbol = "sf_whisper_cuda_create_session";
inline constexpr int kAbiVersion = 1;

using CreateSessionFn = Status (*)(std::shared_ptr<const Model> model, const SessionOptions& options,
                                   std::unique_ptr<Session>* out);

// The plugin's session factory once cuda_availability().usable; nullptr
// otherwise.
CreateSessionFn plugin_create_session();

}  // namespace sf::asr::whisper::cuda
