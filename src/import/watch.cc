// --watch: inotify on every source folder; a file is imported once its
// size and modification time have held still for `settle` seconds.
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "core/cancel.h"
#include "core/log.h"
#include "import/import.h"

namespace sf::import {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

class Inotify {
 public:
  Inotify() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}
  ~Inotify() {
    if (fd_ >= 0) ::close(fd_);
  }
  Inotify(const Inotify&) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Watches `dir` and every folder below it (not hidden ones, not the project).
  void add_tree(const fs::path& dir, const fs::path& project) {
    add(dir);
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
      if (!it->is_directory()) continue;
      const std::string base = it->path().filename().string();
      if ((!base.empty() && base[0] == '.') || it->path() == project) {
        it.disable_recursion_pending();
        continue;
      }
      add(it->path());
    }
  }

  // Paths named by the events waiting (files created, written, moved in;
  // new folders are watched at once).
  std::vector<std::string> read(const fs::path& project) {
    std::vector<std::string> out;
    alignas(inotify_event) char buf[16384];
    while (true) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        auto it = dirs_.find(ev->wd);
        if (it == dirs_.end() || ev->len == 0) continue;
        const fs::path p = it->second / ev->name;
        if (ev->mask & IN_ISDIR) {
          if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->name[0] != '.' && p != project) add_tree(p, project);
          continue;
        }
        out.push_back(p.string());
      }
    }
    return out;
  }

 private:
  void add(const fs::path& dir) {
    const int wd = inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY);
    if (wd >= 0) dirs_[wd] = dir;
  }
  int fd_;
  std::map<int, fs::path> dirs_;
};

struct Growing {
  off_t size = -1;
  int64_t mtime = 0;
  Clock::time_point stable_since;
};

}  // namespace

Status watch_and_import(ImportRequest request, const WatchOptions& options,
                        const std::function<void(const ImportReport&)>& on_run, const ImportProgressFn& progress) {
  std::error_code ec;
  const fs::path project = fs::absolute(request.project, ec).lexically_normal();
  Inotify ino;
  if (!ino.ok()) return Status(Code::kUnavailable, "--watch: inotify is not available here");
  std::vector<fs::path> folders;
  for (const std::string& s : request.sources) {
    fs::path p = fs::absolute(s, ec).lexically_normal();
    if (fs::is_directory(p)) folders.push_back(p);
  }
  if (folders.empty()) return invalid_argument("--watch needs at least one source folder to watch");
  for (const fs::path& f : folders) ino.add_tree(f, project);

  // Files seen changing recently are held back until they settle.
  std::map<std::string, Growing> growing;
  request.skip = [&growing](const std::string& path) { return growing.count(path) > 0; };

  auto first = run_import(request, progress);
  if (!first.ok()) return first.status();
  if (on_run) on_run(*first);
  SF_LOG_INFO("import: watching {} folder(s) for new files (Ctrl-C stops)", folders.size());

  while (!stop_requested(request.cancel)) {
    pollfd pfd{ino.fd(), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(options.poll * 1000));
    const auto now = Clock::now();
    for (const std::string& p : ino.read(project)) {
      const std::string base = fs::path(p).filename().string();
      if (base.empty() || base[0] == '.') continue;
      auto [it, fresh] = growing.try_emplace(p);
      if (fresh) it->second.stable_since = now;
    }
    bool settled = false;
    for (auto it = growing.begin(); it != growing.end();) {
      struct stat st {};
      if (::stat(it->first.c_str(), &st) != 0) {
        it = growing.erase(it);  // gone again (a temporary file of some other program)
        continue;
      }
      const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (st.st_size != it->second.size || mtime != it->second.mtime) {
        it->second.size = st.st_size;
        it->second.mtime = mtime;
        it->second.stable_since = now;
      } else if (std::chrono::duration<double>(now - it->second.stable_since).count() >= options.settle) {
        SF_LOG_INFO("import: {} has stopped growing", it->first);
        it = growing.erase(it);
        settled = true;
        continue;
      }
      ++it;
    }
    if (!settled) continue;
    auto r = run_import(request, progress);
    if (!r.ok()) {
      SF_LOG_WARN("import: {}", r.status().message());
      continue;
    }
    if (on_run) on_run(*r);
  }
  return {};
}

}  // namespace sf::import
