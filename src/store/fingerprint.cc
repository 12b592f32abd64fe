#include "store/fingerprint.h"

#include <xxhash.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sf::store {
namespace {

constexpr uint64_t kEdge = 16ull << 20;
constexpr uint64_t kBlock = 64ull << 10;
constexpr int kBlocks = 64;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

Status read_error(const std::string& path) {
  int e = errno;
  std::string m = path + ": cannot read: " + std::strerror(e);
  if (e == ENOENT) return not_found(m);
  if (e == EACCES || e == EPERM) return permission_denied(m);
  return bad_media(m);
}

// Hashes bytes [offset, offset + length) of the file.
Status hash_range(int fd, const std::string& path, uint64_t offset, uint64_t length, XXH3_state_t* st,
                  std::vector<char>* buf) {
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf->size()));
    ssize_t n = ::pread(fd, buf->data(), want, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return read_error(path);
    }
    if (n == 0) return bad_media(path + ": file shrank while it was being read");
    XXH3_128bits_update(st, buf->data(), static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
    length -= static_cast<uint64_t>(n);
  }
  return {};
}

}  // namespace

Result<Fingerprint> fingerprint_file(const std::string& path, double duration) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return read_error(path);
  struct stat sb {};
  if (::fstat(f.fd, &sb) != 0) return read_error(path);
  if (!S_ISREG(sb.st_mode)) return bad_media(path + ": not a regular file");
  const auto size = static_cast<uint64_t>(sb.st_size);
  if (size == 0) return bad_media(path + ": empty file");
#ifdef POSIX_FADV_SEQUENTIAL
  (void)::posix_fadvise(f.fd, 0, 0, size <= kFullHashLimit ? POSIX_FADV_SEQUENTIAL : POSIX_FADV_RANDOM);
#endif

  std::unique_ptr<XXH3_state_t, StateFree> st(XXH3_createState());
  if (!st) return internal_error("out of memory hashing " + path);
  XXH3_128bits_reset(st.get());
  const int64_t ms = std::isfinite(duration) ? std::llround(duration * 1000.0) : -1;
  const uint64_t header[2] = {size, static_cast<uint64_t>(ms)};
  XXH3_128bits_update(st.get(), header, sizeof header);

  std::vector<char> buf(1 << 20);
  Fingerprint fp;
  fp.size = size;
  if (size <= kFullHashLimit) {
    SF_RETURN_IF_ERROR(hash_range(f.fd, path, 0, size, st.get(), &buf));
  } else {
    fp.sampled = true;
    SF_RETURN_IF_ERROR(hash_range(f.fd, path, 0, kEdge, st.get(), &buf));
    const uint64_t middle = size - 2 * kEdge;
    for (int i = 0; i < kBlocks; ++i) {
      uint64_t off = kEdge + middle / (kBlocks + 1) * static_cast<uint64_t>(i + 1);
      off = std::min(off, size - kEdge - kBlock);
      SF_RETURN_IF_ERROR(hash_range(f.fd, path, off, kBlock, st.get(), &buf));
    }
    SF_RETURN_IF_ERROR(hash_range(f.fd, path, size - kEdge, kEdge, st.get(), &buf));
  }
  XXH128_hash_t h = XXH3_128bits_digest(st.get());
  char hex[40];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  fp.hex = std::string("xxh3-128:") + hex;
  return fp;
}

}  // namespace sf::store
