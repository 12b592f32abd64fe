// The wire format between the pool and its worker processes.
//
// One message is one line of JSON (an object with a "type") followed, when
// the object has "bytes": N (N > 0), by exactly N raw bytes: audio travels
// as little-endian float32 samples, never as JSON numbers. Both directions
// use the same framing over a pipe.
//
// Parent → worker:  {"type":"transcribe","id":I,"offset":S,"bytes":N} + N bytes
//                   (optional "targets":["word","a phrase"]: the segment's
//                   asr::EngineOptions::target_words; its result's
//                   transcript then carries "hits")
//                   {"type":"health","id":I}
//                   {"type":"shutdown"}
// Worker → parent:  {"type":"hello","protocol":1,"pid":P,"device":"cpu","instances":K,"engine":"sphinx"}
//                   {"type":"ready"}
//                   {"type":"result","id":I,"transcript":{...asr::to_json...}}
//                   {"type":"error","id":I,"code":"kBadMedia","message":"..."}
//                   {"type":"health","id":I,"busy":B,"queued":Q,"done":D}
//                   {"type":"fatal","code":"...","message":"..."}  (then exits)
//
// Thread-safety: a MessageReader belongs to one thread; write_message() may
// be called from several threads only if the caller serialises writes to
// one fd.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace sf::workers {

inline constexpr int kProtocolVersion = 1;
// Largest header line and payload accepted; anything bigger is a broken peer.
inline constexpr std::size_t kMaxHeaderBytes = 64u << 20;
inline constexpr std::size_t kMaxPayloadBytes = 256u << 20;

struct Message {
  nlohmann::json header;       // always an object with a string "type"
  std::vector<char> payload;   // the "bytes" that followed, if any
  std::string type() const { return header.value("type", std::string()); }
};

// Writes `header` (its "bytes" set to payload.size() when non-empty) and the
// payload to `fd`, retrying short writes and EINTR. kUnavailable when the
// peer has gone (EPIPE; SIGPIPE must be ignored by the caller's process).
Status write_message(int fd, nlohmann::json header, std::span<const char> payload = {});

// Reads messages from a file descriptor it does not own.
class MessageReader {
 public:
  explicit MessageReader(int fd) : fd_(fd) {}

  // The next message; std::nullopt at a clean end of stream (the peer
  // closed between messages). kCorrupt for malformed JSON, a header that is
  // not an object with a "type", an oversized line or payload, or a stream
  // that ends inside a message; kUnavailable for a read error.
  Result<std::optional<Message>> next();

 private:
  // Fills buf_ with at least one more byte; false at end of stream.
  Result<bool> fill();

  int fd_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
};

// Audio samples as the bytes of a payload (host order; both ends of the pipe
// run on one machine) and back. from_payload: kCorrupt when the size is not
// a whole number of samples.
std::span<const char> as_payload(std::span<const float> samples);
Result<std::vector<float>> samples_from_payload(const std::vector<char>& payload);

}  // namespace sf::workers
