#include "workers/protocol.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/json.h"

namespace sf::workers {
namespace {

Status write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return unavailable("worker pipe closed");
      return unavailable(std::string("writing to worker pipe: ") + std::strerror(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Status write_message(int fd, nlohmann::json header, std::span<const char> payload) {
  if (!payload.empty()) header["bytes"] = payload.size();
  std::string line = dump_json(header);
  line.push_back('\n');
  // One write for small messages keeps them whole in the pipe.
  if (payload.size() < 4096) {
    line.append(payload.data(), payload.size());
    return write_all(fd, line.data(), line.size());
  }
  SF_RETURN_IF_ERROR(write_all(fd, line.data(), line.size()));
  return write_all(fd, payload.data(), payload.size());
}

Result<bool> MessageReader::fill() {
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return unavailable(std::string("reading worker pipe: ") + std::strerror(errno));
    }
    if (n == 0) return false;
    buf_.insert(buf_.end(), chunk, chunk + n);
    return true;
  }
}

Result<std::optional<Message>> MessageReader::next() {
  // Drop what was consumed (indices below stay valid until the next call).
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20)) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  // The header line.
  std::size_t scanned = pos_;
  std::size_t eol;
  for (;;) {
    auto it = std::find(buf_.begin() + static_cast<std::ptrdiff_t>(scanned), buf_.end(), '\n');
    if (it != buf_.end()) {
      eol = static_cast<std::size_t>(it - buf_.begin());
      break;
    }
    scanned = buf_.size();
    if (scanned - pos_ > kMaxHeaderBytes) return corrupt("worker message header is too long");
    SF_ASSIGN_OR_RETURN(bool more, fill());
    if (!more) {
      if (buf_.size() == pos_) return std::optional<Message>();
      return corrupt("worker stream ended inside a message");
    }
  }
  Message m;
  m.header = nlohmann::json::parse(buf_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                   buf_.begin() + static_cast<std::ptrdiff_t>(eol), nullptr, false);
  pos_ = eol + 1;
  if (m.header.is_discarded() || !m.header.is_object() || !m.header.contains("type") ||
      !m.header["type"].is_string()) {
    return corrupt("worker sent a malformed message header");
  }
  // The payload.
  std::size_t bytes = 0;
  if (auto it = m.header.find("bytes"); it != m.header.end()) {
    if (!it->is_number_unsigned()) return corrupt("worker message has a bad \"bytes\" field");
    bytes = it->get<std::size_t>();
    if (bytes > kMaxPayloadBytes) return corrupt("worker message payload is too large");
  }
  m.payload.reserve(bytes);
  while (m.payload.size() < bytes) {
    if (pos_ == buf_.size()) {
      SF_ASSIGN_OR_RETURN(bool more, fill());
      if (!more) return corrupt("worker stream ended inside a message payload");
    }
    std::size_t take = std::min(bytes - m.payload.size(), buf_.size() - pos_);
    m.payload.insert(m.payload.end(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_),
                     buf_.begin() + static_cast<std::ptrdiff_t>(pos_ + take));
    pos_ += take;
  }
  return std::optional<Message>(std::move(m));
}

std::span<const char> as_payload(std::span<const float> samples) {
  return {reinterpret_cast<const char*>(samples.data()), samples.size_bytes()};
}

Result<std::vector<float>> samples_from_payload(const std::vector<char>& payload) {
  if (payload.size() % sizeof(float) != 0) return corrupt("audio payload is not a whole number of samples");
  std::vector<float> out(payload.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), payload.data(), payload.size());
  return out;
}

}  // namespace sf::workers
