#include "workers/pool.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include "asr/formats.h"
#include "core/cancel.h"
#include "core/config.h"
#include "core/log.h"
#include "gpu/planner.h"
#include "workers/protocol.h"
#include "workers/worker_main.h"

extern char** environ;

namespace sf::workers {

using Clock = std::chrono::steady_clock;

std::string_view state_name(WorkerState s) {
  switch (s) {
    case WorkerState::kStarting: return "starting";
    case WorkerState::kReady: return "ready";
    case WorkerState::kBusy: return "busy";
    case WorkerState::kUnhealthy: return "unhealthy";
    case WorkerState::kStopping: return "stopping";
    case WorkerState::kDead: return "dead";
  }
  return "unknown";
}

namespace {

std::string device_name(int gpu) { return gpu < 0 ? std::string("cpu") : "gpu:" + std::to_string(gpu); }

std::string iso8601(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "ended";
}

std::string self_program() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "studioflow";
  return std::string(buf, static_cast<size_t>(n));
}

const char* log_level_name() {
  switch (spdlog::get_level()) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    default: return "off";
  }
}

}  // namespace

PoolOptions pool_options_from_env(const asr::EngineOptions& engine, int instances) {
  PoolOptions o;
  o.engine = engine;
  if (instances <= 0) instances = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The planner spreads the instances over GPU_WORKER_PROCESSES processes (2
  // by default, as the seed). No engine runs on a GPU yet: CPU workers.
  gpu::WorkerPlan plan = gpu::plan_cpu_workers(instances, 0, 0, gpu::plan_options_from_env());
  gpu::log_plan_decisions(plan);
  for (const auto& w : plan.workers) o.workers.push_back({w.gpu, w.instances});
  if (o.workers.empty()) o.workers.push_back({-1, instances});
  o.health_interval = std::max(0.1, config::env_double("WORKER_HEALTH_CHECK_INTERVAL"));
  o.restart_threshold = static_cast<int>(std::max(0L, config::env_int("PROCESS_RESTART_THRESHOLD")));
  o.segment_timeout = std::max(1.0, config::env_double("TRANSCRIPTION_TIMEOUT"));
  return o;
}

nlohmann::json PoolStatus::to_json() const {
  nlohmann::json models = nlohmann::json::object();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& w : workers) {
    const std::string key = w.gpu < 0 ? "cpu" : std::to_string(w.gpu);
    if (w.state != WorkerState::kDead) models[key] = models.value(key, 0) + w.instances;
    list.push_back({{"slot", w.slot},
                    {"pid", static_cast<long>(w.pid)},
                    {"device", device_name(w.gpu)},
                    {"instances", w.instances},
                    {"state", std::string(state_name(w.state))},
                    {"in_flight", w.in_flight},
                    {"completed", w.completed},
                    {"restarts", w.restarts}});
  }
  return {{"worker_processes",
           {{"total", total},
            {"healthy", healthy},
            {"restarted", restarted},
            {"last_health_check", last_health_check > 0 ? nlohmann::json(iso8601(last_health_check)) : nlohmann::json()}}},
          {"models_per_gpu", models},
          {"pipeline_stages", {{"transcription", {{"active", active}, {"completed", completed}, {"queued", queued}}}}},
          {"workers", list}};
}

// ---------------------------------------------------------------------------

namespace {

struct Proc;

// One caller's segment; lives on the caller's stack until it is done or
// abandoned.
struct Request {
  std::int64_t id = 0;
  std::span<const float> audio;
  double offset = 0;
  const std::vector<std::string>* targets = nullptr;  // owned by the caller
  int attempts = 0;
  std::set<int> tried;  // slots it was sent to
  std::string last_failure;
  Clock::time_point sent_at;
  Proc* proc = nullptr;  // the worker holding it, if any
  std::optional<Result<asr::Transcript>> result;
  std::condition_variable cv;
};

struct Frame {
  nlohmann::json header;
  std::vector<char> payload;
};

// One worker process. Fields are guarded by the pool's mutex unless noted.
struct Proc {
  int slot = 0;
  int gpu = -1;
  int instances = 1;
  pid_t pid = 0;        // set before the threads start; constant after
  int to_fd = -1;       // owned by the writer thread
  int from_fd = -1;     // owned by the reader thread
  WorkerState state = WorkerState::kStarting;
  Clock::time_point started_at;
  std::map<std::int64_t, Request*> in_flight;
  long completed = 0;
  std::deque<Frame> out;
  bool out_closed = false;
  std::condition_variable out_cv;
  std::int64_t health_pending = 0;  // id of the unanswered health request
  std::string fatal;                // what it reported before dying
  std::string death;                // why it died, once known
  bool finished = false;            // reader thread is done (process reaped)
  std::thread reader, writer;
};

struct Slot {
  WorkerSlotSpec spec;
  int restarts = 0;
  bool given_up = false;
  std::shared_ptr<Proc> proc;  // the current process, if any
  std::string last_failure;
};

}  // namespace

struct WorkerPool::Impl {
  PoolOptions options;
  mutable std::mutex mu;
  std::condition_variable sup_cv;    // wakes the supervisor
  std::condition_variable start_cv;  // start() waits on it
  std::vector<Slot> slots;
  std::deque<Request*> pending;
  std::vector<std::shared_ptr<Proc>> graveyard;  // dead, threads still to join
  std::int64_t next_id = 1;
  int restarted = 0;
  long completed = 0;
  double last_health_check = 0;
  Clock::time_point next_health;
  bool starting = true;
  bool stopping = false;
  std::string start_error;
  Status start_status;
  std::thread supervisor;

  // --- everything below runs with `mu` held unless it says otherwise ---

  bool any_slot_left() const {
    return std::any_of(slots.begin(), slots.end(), [](const Slot& s) { return !s.given_up; });
  }

  void finish(Request* r, Result<asr::Transcript> result) {
    if (r->proc != nullptr) r->proc->in_flight.erase(r->id);
    r->proc = nullptr;
    r->result = std::move(result);
    r->cv.notify_all();
  }

  void send(Proc* p, Request* r) {
    r->attempts++;
    r->tried.insert(p->slot);
    r->sent_at = Clock::now();
    r->proc = p;
    p->in_flight[r->id] = r;
    p->state = WorkerState::kBusy;
    auto bytes = as_payload(r->audio);
    nlohmann::json header = {{"type", "transcribe"}, {"id", r->id}, {"offset", r->offset}};
    if (r->targets != nullptr && !r->targets->empty()) header["targets"] = *r->targets;
    p->out.push_back({std::move(header), std::vector<char>(bytes.begin(), bytes.end())});
    p->out_cv.notify_one();
  }

  // Hands waiting segments to workers with room, least loaded first,
  // preferring workers this segment has not failed on.
  void dispatch() {
    while (!pending.empty()) {
      Request* r = pending.front();
      Proc* best = nullptr;
      bool untried_alive = false;
      for (int pass = 0; pass < 2 && best == nullptr; ++pass) {
        double best_load = 0;
        for (auto& s : slots) {
          Proc* p = s.proc.get();
          if (p == nullptr || (p->state != WorkerState::kReady && p->state != WorkerState::kBusy)) continue;
          const bool untried = r->tried.count(p->slot) == 0;
          if (pass == 0 && !untried) continue;
          if (untried) untried_alive = true;
          if (static_cast<int>(p->in_flight.size()) >= p->instances + 1) continue;
          const double load = static_cast<double>(p->in_flight.size()) / p->instances;
          if (best == nullptr || load < best_load) {
            best = p;
            best_load = load;
          }
        }
        if (pass == 0 && best == nullptr && untried_alive) return;  // wait for an untried one to have room
      }
      if (best == nullptr) return;
      pending.pop_front();
      send(best, r);
    }
  }

  void fail_all_pending(const std::string& why) {
    while (!pending.empty()) {
      Request* r = pending.front();
      pending.pop_front();
      finish(r, unavailable(why));
    }
  }

  // A worker process has ended (reader saw the end of its stream, and the
  // process was reaped). Its segments go back to the queue.
  void on_death(const std::shared_ptr<Proc>& p) {
    p->state = WorkerState::kDead;
    p->out_closed = true;
    p->out_cv.notify_all();
    p->finished = true;
    std::string why = !p->fatal.empty() ? p->fatal : p->death;
    Slot& s = slots[static_cast<size_t>(p->slot)];
    s.last_failure = why;
    if (!stopping) SF_LOG_WARN("worker process {} ({}) {}", p->pid, device_name(p->gpu), why);
    // Segments it held: again, at the front, unless they have had their tries.
    std::vector<Request*> back;
    for (auto& [id, r] : p->in_flight) back.push_back(r);
    p->in_flight.clear();
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
      Request* r = *it;
      r->proc = nullptr;
      r->last_failure = why;
      if (r->attempts >= options.max_attempts) {
        finish(r, unavailable(fmt::format("the segment at {:.2f} s failed on {} worker process(es); last: {}",
                                          r->offset, r->attempts, why)));
      } else if (stopping) {
        finish(r, cancelled("the worker pool is shutting down"));
      } else {
        pending.push_front(r);
      }
    }
    if (starting) {
      if (start_error.empty()) {
        start_error = fmt::format("worker process for {} {} before it was ready", device_name(p->gpu), why);
        if (!p->fatal.empty()) start_error = p->fatal;
      }
      start_cv.notify_all();
    }
    graveyard.push_back(p);
    if (s.proc == p) s.proc.reset();
    if (!starting && !stopping && s.restarts >= options.restart_threshold) {
      s.given_up = true;
      SF_LOG_ERROR("worker slot {} ({}) given up after {} restart(s): {}", p->slot, device_name(p->gpu), s.restarts,
                   why);
    }
    if (!any_slot_left()) fail_all_pending("no worker process left: " + why);
    dispatch();
    sup_cv.notify_all();
  }

  void kill_proc(Proc* p, WorkerState state, const std::string& why) {
    if (p->state == WorkerState::kDead || p->finished) return;
    p->state = state;
    if (p->death.empty()) p->death = why;
    ::kill(p->pid, SIGKILL);
  }

  // --- spawning (called without `mu`) ---

  Result<std::shared_ptr<Proc>> spawn(int slot, const WorkerSlotSpec& spec) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return unavailable(std::string("pipe: ") + std::strerror(errno));
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      return unavailable(std::string("pipe: ") + std::strerror(errno));
    }
    std::string program = options.program.empty() ? self_program() : options.program;
    std::vector<std::string> args = {program,
                                     "--log-level",
                                     log_level_name(),
                                     "worker",
                                     "--engine-options",
                                     engine_options_to_json(options.engine),
                                     "--instances",
                                     std::to_string(spec.instances),
                                     "--device",
                                     device_name(spec.gpu),
                                     "--parent-pid",
                                     std::to_string(::getpid())};
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], STDOUT_FILENO);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (rc != 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      return unavailable("cannot start worker process " + program + ": " + std::strerror(rc));
    }
    auto p = std::make_shared<Proc>();
    p->slot = slot;
    p->gpu = spec.gpu;
    p->instances = std::max(1, spec.instances);
    p->pid = pid;
    p->to_fd = to_child[1];
    p->from_fd = from_child[0];
    p->started_at = Clock::now();
    return p;
  }

  // Starts the reader and writer threads of a new process (without `mu`).
  void run_threads(const std::shared_ptr<Proc>& p) {
    p->writer = std::thread([this, p] { write_loop(p); });
    p->reader = std::thread([this, p] { read_loop(p); });
  }

  void write_loop(const std::shared_ptr<Proc>& p) {
    for (;;) {
      Frame f;
      {
        std::unique_lock lock(mu);
        p->out_cv.wait(lock, [&] { return !p->out.empty() || p->out_closed; });
        if (p->out.empty()) break;
        f = std::move(p->out.front());
        p->out.pop_front();
      }
      if (!write_message(p->to_fd, std::move(f.header), f.payload).ok()) break;
    }
    ::close(p->to_fd);
  }

  void read_loop(const std::shared_ptr<Proc>& p) {
    MessageReader reader(p->from_fd);
    std::string broken;
    for (;;) {
      auto m = reader.next();
      if (!m.ok()) {
        broken = m.status().message();
        break;
      }
      if (!*m) break;
      handle(p, **m);
    }
    ::close(p->from_fd);
    // The stream ended: the process is ending or must be made to.
    if (!broken.empty()) ::kill(p->pid, SIGKILL);
    int status = 0;
    pid_t got = 0;
    for (int i = 0; i < 100; ++i) {  // up to 1 s to exit by itself
      got = ::waitpid(p->pid, &status, WNOHANG);
      if (got != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (got == 0) {
      ::kill(p->pid, SIGKILL);
      got = ::waitpid(p->pid, &status, 0);
    }
    std::lock_guard lock(mu);
    if (p->death.empty()) p->death = !broken.empty() ? "sent a broken message: " + broken : exit_text(status);
    else p->death += " (" + exit_text(status) + ")";
    on_death(p);
  }

  void handle(const std::shared_ptr<Proc>& p, const Message& m) {
    const std::string type = m.type();
    std::lock_guard lock(mu);
    if (type == "ready") {
      if (p->state == WorkerState::kStarting) p->state = WorkerState::kReady;
      SF_LOG_DEBUG("worker process {} ({}, {} instance(s)) ready", p->pid, device_name(p->gpu), p->instances);
      start_cv.notify_all();
      dispatch();
    } else if (type == "result" || type == "error") {
      const std::int64_t id = m.header.value("id", std::int64_t{0});
      auto it = p->in_flight.find(id);
      p->completed++;
      if (it != p->in_flight.end()) {
        Request* r = it->second;
        completed++;
        if (type == "result") {
          auto t = asr::transcript_from_json(m.header.value("transcript", nlohmann::json()));
          finish(r, t.ok() ? std::move(t) : Result<asr::Transcript>(t.status().with_context("worker result")));
        } else {
          std::string code = m.header.value("code", std::string());
          Code c = Code::kInternal;
          for (int k = 0; k <= static_cast<int>(Code::kInternal); ++k) {
            if (code_name(static_cast<Code>(k)) == code) c = static_cast<Code>(k);
          }
          finish(r, Status(c, m.header.value("message", std::string("engine error"))));
        }
      }
      if (p->in_flight.empty() && p->state == WorkerState::kBusy) p->state = WorkerState::kReady;
      dispatch();
    } else if (type == "health") {
      if (m.header.value("id", std::int64_t{0}) == p->health_pending) p->health_pending = 0;
    } else if (type == "fatal") {
      p->fatal = m.header.value("message", std::string("worker failed"));
    }
  }

  // The supervisor: restarts, health checks, timeouts, reaping.
  void supervise() {
    std::unique_lock lock(mu);
    // The first processes.
    for (size_t i = 0; i < slots.size(); ++i) start_slot(lock, static_cast<int>(i));
    // The first check soon after the start, so the status has one.
    next_health = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(std::min(1.0, options.health_interval)));
    while (!stopping) {
      const auto now = Clock::now();
      // Reap.
      if (!graveyard.empty()) {
        auto dead = std::move(graveyard);
        graveyard.clear();
        lock.unlock();
        for (auto& d : dead) {
          if (d->reader.joinable()) d->reader.join();
          if (d->writer.joinable()) d->writer.join();
        }
        lock.lock();
        continue;
      }
      // Restart.
      if (!starting) {
        for (size_t i = 0; i < slots.size(); ++i) {
          Slot& s = slots[i];
          if (s.proc == nullptr && !s.given_up) {
            s.restarts++;
            restarted++;
            SF_LOG_INFO("restarting worker slot {} ({}), restart {} of {}", i, device_name(s.spec.gpu), s.restarts,
                        options.restart_threshold);
            start_slot(lock, static_cast<int>(i));
          }
        }
      }
      // Health and timeouts.
      for (auto& s : slots) {
        Proc* p = s.proc.get();
        if (p == nullptr) continue;
        if (p->state == WorkerState::kStarting &&
            now - p->started_at > std::chrono::duration<double>(options.start_timeout)) {
          kill_proc(p, WorkerState::kUnhealthy, "did not become ready in time");
        }
        for (auto& [id, r] : p->in_flight) {
          if (now - r->sent_at > std::chrono::duration<double>(options.segment_timeout)) {
            kill_proc(p, WorkerState::kUnhealthy,
                      fmt::format("took longer than TRANSCRIPTION_TIMEOUT ({} s) on a segment", options.segment_timeout));
            break;
          }
        }
      }
      if (now >= next_health) {
        for (auto& s : slots) {
          Proc* p = s.proc.get();
          if (p == nullptr || (p->state != WorkerState::kReady && p->state != WorkerState::kBusy)) continue;
          if (p->health_pending != 0) {
            kill_proc(p, WorkerState::kUnhealthy,
                      fmt::format("did not answer a health check within {} s", options.health_interval));
            continue;
          }
          p->health_pending = next_id++;
          p->out.push_front({{{"type", "health"}, {"id", p->health_pending}}, {}});
          p->out_cv.notify_one();
        }
        last_health_check = unix_now();
        next_health = now + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(options.health_interval));
      }
      auto wake = std::min(next_health, now + std::chrono::milliseconds(200));
      sup_cv.wait_until(lock, wake);
    }
  }

  // Starts a process in slot `i`; drops and retakes `lock` around the spawn.
  void start_slot(std::unique_lock<std::mutex>& lock, int i) {
    WorkerSlotSpec spec = slots[static_cast<size_t>(i)].spec;
    lock.unlock();
    auto p = spawn(i, spec);
    lock.lock();
    Slot& s = slots[static_cast<size_t>(i)];
    if (!p.ok()) {
      s.last_failure = p.status().message();
      if (starting) {
        start_error = p.status().message();
        start_cv.notify_all();
      }
      s.given_up = true;  // the program itself cannot be run
      if (!any_slot_left()) fail_all_pending("no worker process left: " + s.last_failure);
      return;
    }
    s.proc = *p;
    lock.unlock();
    run_threads(*p);
    lock.lock();
  }
};

WorkerPool::WorkerPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<WorkerPool>> WorkerPool::start(const PoolOptions& options) {
  if (options.workers.empty()) return invalid_argument("a worker pool needs at least one worker process");
  // A worker that dies while we write to it must be an error, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (const auto& w : options.workers) impl->slots.push_back({w, 0, false, nullptr, {}});
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(impl)));
  Impl& m = *pool->impl_;
  m.supervisor = std::thread([&m] { m.supervise(); });
  std::unique_lock lock(m.mu);
  m.start_cv.wait(lock, [&] {
    if (!m.start_error.empty()) return true;
    for (const auto& s : m.slots) {
      if (s.proc == nullptr || s.proc->state != WorkerState::kReady) return false;
    }
    return true;
  });
  if (!m.start_error.empty()) {
    std::string e = m.start_error;
    lock.unlock();
    pool.reset();
    return unavailable("cannot start the worker pool: " + e);
  }
  m.starting = false;
  SF_LOG_DEBUG("worker pool ready: {} process(es)", m.slots.size());
  return pool;
}

WorkerPool::~WorkerPool() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    m.fail_all_pending("the worker pool is shutting down");
    m.sup_cv.notify_all();
  }
  // The supervisor first: it may be starting a replacement process right
  // now, which must be in the list below to be stopped and joined.
  if (m.supervisor.joinable()) m.supervisor.join();
  std::vector<std::shared_ptr<Proc>> procs;
  {
    std::lock_guard lock(m.mu);
    for (auto& s : m.slots) {
      if (s.proc == nullptr) continue;
      Proc* p = s.proc.get();
      if (p->state != WorkerState::kDead) p->state = WorkerState::kStopping;
      p->out.push_back({{{"type", "shutdown"}}, {}});
      p->out_closed = true;
      p->out_cv.notify_all();
      procs.push_back(s.proc);
    }
  }
  // Give them a moment to finish, then make sure.
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  for (auto& p : procs) {
    for (;;) {
      {
        std::lock_guard lock(m.mu);
        if (p->finished) break;
        if (Clock::now() > deadline) {
          m.kill_proc(p.get(), WorkerState::kStopping, "stopped by the pool");
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  for (auto& p : procs) {
    if (p->reader.joinable()) p->reader.join();
    if (p->writer.joinable()) p->writer.join();
  }
  std::vector<std::shared_ptr<Proc>> rest;
  {
    std::lock_guard lock(m.mu);
    rest = std::move(m.graveyard);
  }
  for (auto& d : rest) {
    if (d->reader.joinable()) d->reader.join();
    if (d->writer.joinable()) d->writer.join();
  }
}

Result<asr::Transcript> WorkerPool::transcribe(std::span<const float> audio, double time_offset,
                                               const std::atomic<bool>* cancel,
                                               const std::vector<std::string>& targets) {
  Impl& m = *impl_;
  Request r;
  r.audio = audio;
  r.offset = time_offset;
  r.targets = &targets;
  std::unique_lock lock(m.mu);
  if (m.stopping) return cancelled("the worker pool is shutting down");
  if (!m.any_slot_left()) return unavailable("no worker process left");
  r.id = m.next_id++;
  m.pending.push_back(&r);
  m.dispatch();
  while (!r.result) {
    r.cv.wait_for(lock, std::chrono::milliseconds(100));
    if (!r.result && stop_requested(cancel)) {
      // Abandon it: out of the queue, or its answer will be dropped.
      auto it = std::find(m.pending.begin(), m.pending.end(), &r);
      if (it != m.pending.end()) m.pending.erase(it);
      if (r.proc != nullptr) r.proc->in_flight.erase(r.id);
      return cancelled("transcription stopped on request");
    }
  }
  return std::move(*r.result);
}

int WorkerPool::capacity() const {
  int n = 0;
  for (const auto& s : impl_->options.workers) n += std::max(1, s.instances) + 1;
  return n;
}

PoolStatus WorkerPool::status() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  PoolStatus st;
  st.total = static_cast<int>(m.slots.size());
  st.restarted = m.restarted;
  st.last_health_check = m.last_health_check;
  st.completed = m.completed;
  st.queued = static_cast<int>(m.pending.size());
  for (size_t i = 0; i < m.slots.size(); ++i) {
    const Slot& s = m.slots[i];
    WorkerInfo w;
    w.slot = static_cast<int>(i);
    w.gpu = s.spec.gpu;
    w.instances = s.spec.instances;
    w.restarts = s.restarts;
    w.state = WorkerState::kDead;
    if (s.proc != nullptr) {
      w.pid = s.proc->pid;
      w.state = s.proc->state;
      w.in_flight = static_cast<int>(s.proc->in_flight.size());
      w.completed = s.proc->completed;
      st.active += w.in_flight;
    }
    if (w.state == WorkerState::kReady || w.state == WorkerState::kBusy) st.healthy++;
    st.workers.push_back(w);
  }
  return st;
}

const PoolOptions& WorkerPool::options() const { return impl_->options; }

}  // namespace sf::workers
