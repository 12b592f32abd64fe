#include "asr/whisper/model/session.h"

#include <new>
#include <string>

#include "asr/whisper/cpu/cpu_session.h"
#include "asr/whisper/cuda/plugin_abi.h"

namespace sf::asr::whisper {

Session::~Session() = default;

Result<SessionOptions> validate_session_options(const Model* model, const SessionOptions& options) {
  if (model == nullptr) return invalid_argument("whisper session: no model");
  if (options.threads < 1 || options.threads > 1024) {
    return invalid_argument("whisper session: threads must be 1..1024, got " + std::to_string(options.threads));
  }
  if (options.max_batch < 1 || options.max_batch > 4096) {
    return invalid_argument("whisper session: max_batch must be >= 1, got " + std::to_string(options.max_batch));
  }
  if (options.kv_slots < 0) return invalid_argument("whisper session: kv_slots must not be negative");
  SessionOptions opts = options;
  if (opts.kv_slots == 0) opts.kv_slots = opts.max_batch;
  return opts;
}

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model, const SessionOptions& options) {
  SF_ASSIGN_OR_RETURN(SessionOptions opts, validate_session_options(model.get(), options));
  SF_ASSIGN_OR_RETURN(opts.device, resolve_device(options.device));
  if (opts.device.kind == Device::Kind::kCuda) {
    cuda::CreateSessionFn create = cuda::plugin_create_session();
    if (create == nullptr) return unavailable("whisper device " + device_name(opts.device) + ": " + cuda_availability().why);
    std::unique_ptr<Session> session;
    SF_RETURN_IF_ERROR(create(std::move(model), opts, &session));
    return session;
  }
  // Weights in the compute type's format and the session's buffers are
  // allocated here: running out of memory is an error to report, not a
  // crash.
  const std::string name = model->name();
  try {
    return create_cpu_session(std::move(model), opts);
  } catch (const std::bad_alloc&) {
    return unavailable("whisper: out of memory setting up " + name + " on the CPU in " +
                       std::string(compute_type_name(opts.compute_type)));
  }
}

}  // namespace sf::asr::whisper
