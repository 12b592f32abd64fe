#include "core/command.h"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cancel.h"

extern char** environ;

namespace sf {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

Status make_pipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return internal_error(std::string("pipe: ") + std::strerror(errno));
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  return {};
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  Fd out_r, out_w, err_r, err_w;
  SF_RETURN_IF_ERROR(make_pipe(&out_r, &out_w));
  SF_RETURN_IF_ERROR(make_pipe(&err_r, &err_w));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT) return not_found(argv[0] + ": not installed (not found on PATH)");
  if (rc != 0) return internal_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  out_w.reset();
  err_w.reset();

  CommandResult result;
  Status failure;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(options.timeout);
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    if (cancel_requested()) {
      failure = cancelled(argv[0] + ": stopped");
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      failure = unavailable(argv[0] + ": gave no answer within " + std::to_string(static_cast<int>(options.timeout)) +
                            " s");
      break;
    }
    pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0}, {err_open ? err_r.get() : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, 100);
    if (n < 0 && errno != EINTR) {
      failure = internal_error(std::string("poll: ") + std::strerror(errno));
      break;
    }
    for (int i = 0; i < 2 && n > 0; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& sink = i == 0 ? result.out : result.err;
      if (i == 1 && sink.size() >= options.max_output) continue;
      sink.append(buf, static_cast<std::size_t>(got));
      if (i == 0 && sink.size() > options.max_output) {
        failure = unsupported(argv[0] + ": printed more than " + std::to_string(options.max_output) + " bytes");
      }
    }
    if (!failure.ok()) break;
  }
  if (!failure.ok()) {
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 10; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return failure;
      ::usleep(100000);
    }
    ::kill(pid, SIGKILL);
    wait_child(pid);
    return failure;
  }
  result.exit_code = wait_child(pid);
  return result;
}

}  // namespace sf
