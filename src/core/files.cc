#include "core/files.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace sf {
namespace fs = std::filesystem;

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

std::string temporary_name_for(const std::string& path) {
  static std::atomic<int> counter{0};
  fs::path p(path);
  std::string name = "." + p.filename().string() + ".partial-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter++);
  return (p.has_parent_path() ? p.parent_path() / name : fs::path(name)).string();
}

Status commit_file(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    std::remove(tmp.c_str());
    return output_error(path + ": cannot rename the finished file into place: " + std::strerror(e));
  }
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data) {
  SF_RETURN_IF_ERROR(check_output_path(path));
  std::string tmp = temporary_name_for(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return output_error(path + ": cannot create: " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      return output_error(path + ": write failed: " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::remove(tmp.c_str());
    return output_error(path + ": write failed: " + std::strerror(errno));
  }
  return commit_file(tmp, path);
}

}  // namespace sf
