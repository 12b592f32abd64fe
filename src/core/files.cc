#include "core/files.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sf {
namespace fs = std::filesystem;

namespace {

// The registry of temporary names: fixed storage and lock-free state, so a
// signal handler can walk it without locks or allocation.
constexpr int kSlots = 256;
constexpr std::size_t kMaxPath = 4096;
enum SlotState : int { kFree = 0, kBusy = 1, kHeld = 2 };

struct Slot {
  std::atomic<int> state{kFree};
  char path[kMaxPath] = {};
};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

Slot g_slots[kSlots];

void register_temporary(const std::string& path) {
  if (path.size() >= kMaxPath) return;
  for (Slot& slot : g_slots) {
    int expected = kFree;
    if (!slot.state.compare_exchange_strong(expected, kBusy, std::memory_order_acquire)) continue;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.state.store(kHeld, std::memory_order_release);
    return;
  }
}

void unregister_temporary(const std::string& path) {
  for (Slot& slot : g_slots) {
    if (slot.state.load(std::memory_order_acquire) != kHeld || path != slot.path) continue;
    int expected = kHeld;
    if (slot.state.compare_exchange_strong(expected, kBusy, std::memory_order_acquire)) {
      slot.path[0] = '\0';
      slot.state.store(kFree, std::memory_order_release);
      return;
    }
  }
}

// Identity of an existing file, following symbolic links.
bool file_id(const std::string& path, struct stat* st) { return ::stat(path.c_str(), st) == 0; }

}  // namespace

Status check_output_path(const std::string& path) {
  if (path.empty()) return invalid_argument("no output path given");
  fs::path p(path);
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(dir, ec)) return output_error(path + ": output folder " + dir.string() + " does not exist");
  if (!fs::is_directory(dir, ec)) return output_error(path + ": " + dir.string() + " is not a folder");
  if (fs::is_directory(p, ec)) return output_error(path + ": is a folder, expected a file name");
  if (::access(dir.c_str(), W_OK) != 0) {
    return output_error(path + ": output folder " + dir.string() + " is not writable");
  }
  return {};
}

Status check_not_an_input(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out_st = {};
  // An output that does not exist yet cannot be any existing input.
  if (output.empty() || !file_id(output, &out_st)) return {};
  for (const std::string& input : inputs) {
    struct stat in_st = {};
    if (!file_id(input, &in_st)) continue;
    if (out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
      return invalid_argument("output " + output + " is the input " + input +
                              " (the same file): writing it would replace the input; choose another output");
    }
  }
  return {};
}

std::string temporary_name_for(const std::string& path) {
  static std::atomic<int> counter{0};
  fs::path p(path);
  std::string name = "." + p.filename().string() + ".partial-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter++);
  std::string tmp = (p.has_parent_path() ? p.parent_path() / name : fs::path(name)).string();
  register_temporary(tmp);
  return tmp;
}

Status commit_file(const std::string& tmp, const std::string& path) {
  const int rc = std::rename(tmp.c_str(), path.c_str());
  const int e = errno;
  if (rc != 0) std::remove(tmp.c_str());
  unregister_temporary(tmp);
  if (rc != 0) {
    return output_error(path + ": cannot rename the finished file into place: " + std::strerror(e));
  }
  return {};
}

void discard_temporary(const std::string& tmp) {
  std::remove(tmp.c_str());
  unregister_temporary(tmp);
}

void remove_registered_temporaries() noexcept {
  for (Slot& slot : g_slots) {
    if (slot.state.load(std::memory_order_acquire) == kHeld) ::unlink(slot.path);
  }
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  SF_RETURN_IF_ERROR(check_output_path(path));
  std::string tmp = temporary_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    discard_temporary(tmp);
    return output_error(path + ": cannot create: " + std::strerror(e));
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      discard_temporary(tmp);
      return output_error(path + ": write failed: " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  int e = 0;
  if (::fsync(fd) != 0) e = errno;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e != 0) {
    discard_temporary(tmp);
    return output_error(path + ": write failed: " + std::strerror(e));
  }
  return commit_file(tmp, path);
}

}  // namespace sf
