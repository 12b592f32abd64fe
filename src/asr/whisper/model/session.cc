#include "asr/whisper/model/session.h"

namespace sf::asr::whisper {

struct Session::State {};

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options,
                 std::unique_ptr<State> state)
    : model_(std::move(model)), options_(options), state_(std::move(state)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                 const SessionOptions& options) {
  (void)model;
  (void)options;
  return unsupported("Whisper sessions are not implemented yet");
}
int Session::kv_slots() const { return 0; }
Status Session::encode(std::span<const float>, int) { return unsupported("not implemented"); }
int Session::encoded_batch() const { return 0; }
const float* Session::encoder_output(int) const { return nullptr; }
Status Session::decode(std::span<const DecodeItem>, std::vector<float>*, bool) {
  return unsupported("not implemented");
}
void Session::copy_kv(int, int, int) {}
void Session::reset_kv(int) {}
Status Session::set_collect_cross_attention(std::vector<AlignmentHead>) {
  return unsupported("not implemented");
}
std::span<const float> Session::cross_attention(int) const { return {}; }

}  // namespace sf::asr::whisper
