#include "workers/worker_main.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "asr/formats.h"
#include "core/bounded_queue.h"
#include "core/log.h"
#include "workers/protocol.h"

namespace sf::workers {
namespace {

struct Segment {
  std::int64_t id = 0;
  double offset = 0;
  std::vector<float> samples;
  std::vector<std::string> targets;
};

// Serialises replies: instance threads and the reading thread share fd.
class Replier {
 public:
  explicit Replier(int fd) : fd_(fd) {}
  void send(nlohmann::json header) {
    std::lock_guard lock(mu_);
    // A parent that has gone cannot be told anything; the read side ends us.
    (void)write_message(fd_, std::move(header));
  }

 private:
  std::mutex mu_;
  int fd_;
};

nlohmann::json status_fields(const Status& s) {
  return {{"code", std::string(code_name(s.code()))}, {"message", s.message()}};
}

}  // namespace

std::string engine_options_to_json(const asr::EngineOptions& o) {
  nlohmann::json j = {{"engine", o.engine},          {"model", o.model},         {"language", o.language},
                      {"task", o.task},              {"threads", o.threads},     {"beam_size", o.beam_size},
                      {"batch_size", o.batch_size},  {"initial_prompt", o.initial_prompt},
                      {"word_timestamps", o.word_timestamps}, {"device", o.device}, {"hotwords", o.hotwords},
                      {"compute_type", o.compute_type}};
  return j.dump();
}

Result<asr::EngineOptions> engine_options_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("--engine-options is not a JSON object");
  asr::EngineOptions o;
  try {
    o.engine = j.value("engine", o.engine);
    o.model = j.value("model", o.model);
    o.language = j.value("language", o.language);
    o.task = j.value("task", o.task);
    o.threads = j.value("threads", o.threads);
    o.beam_size = j.value("beam_size", o.beam_size);
    o.batch_size = j.value("batch_size", o.batch_size);
    o.initial_prompt = j.value("initial_prompt", o.initial_prompt);
    o.word_timestamps = j.value("word_timestamps", o.word_timestamps);
    o.device = j.value("device", o.device);
    o.hotwords = j.value("hotwords", o.hotwords);
    o.compute_type = j.value("compute_type", o.compute_type);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("--engine-options: ") + e.what());
  }
  return o;
}

int run_worker(const WorkerArgs& args) {
  // Die with the parent, and do not start at all if it is already gone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (args.parent_pid > 0 && ::getppid() != static_cast<pid_t>(args.parent_pid)) return 0;
  ::signal(SIGPIPE, SIG_IGN);
  // Ctrl-C in a terminal reaches the whole process group: the parent decides
  // when its workers stop (shutdown or closing the pipe), not the signal.
  ::signal(SIGINT, SIG_IGN);

  const int out_fd = ::dup(STDOUT_FILENO);
  if (out_fd < 0 || ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return 4;
  Replier reply(out_fd);
  const int instances = std::max(1, args.instances);

  // The worker's device decides where an engine left to choose runs.
  asr::EngineOptions engine_options = args.engine;
  if (engine_options.device == "auto" || engine_options.device.empty()) {
    if (args.device == "cpu") engine_options.device = "cpu";
    if (args.device.rfind("gpu:", 0) == 0) engine_options.device = "cuda:" + args.device.substr(4);
  }

  // Make every instance first, each on its own thread.
  std::vector<std::unique_ptr<asr::Engine>> engines(static_cast<size_t>(instances));
  {
    std::vector<Status> errors(static_cast<size_t>(instances));
    std::vector<std::thread> makers;
    for (int i = 0; i < instances; ++i) {
      makers.emplace_back([&, i] {
        auto e = asr::create_engine(engine_options);
        if (e.ok()) {
          engines[static_cast<size_t>(i)] = std::move(e).value();
        } else {
          errors[static_cast<size_t>(i)] = e.status();
        }
      });
    }
    for (auto& t : makers) t.join();
    for (const auto& s : errors) {
      if (!s.ok()) {
        nlohmann::json j = status_fields(s);
        j["type"] = "fatal";
        reply.send(j);
        return 3;
      }
    }
  }
  reply.send({{"type", "hello"},
              {"protocol", kProtocolVersion},
              {"pid", static_cast<long>(::getpid())},
              {"device", args.device},
              {"instances", instances},
              {"engine", engines.front()->name()}});

  BoundedQueue<Segment> queue(static_cast<size_t>(instances) * 4);
  std::atomic<int> busy{0}, queued{0};
  std::atomic<long> done{0};
  // crash-once: the one process that creates the marker file crashes.
  auto first_to_crash = [&] {
    if (args.fault_file.empty()) return false;
    int fd = ::open(args.fault_file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  };
  std::atomic<bool> stop{false};  // after "shutdown": segments not begun are dropped
  std::vector<std::thread> threads;
  for (int i = 0; i < instances; ++i) {
    threads.emplace_back([&, i] {
      asr::Engine& engine = *engines[static_cast<size_t>(i)];
      while (auto seg = queue.get()) {
        --queued;
        if (stop.load()) continue;
        ++busy;
        if (args.fault == "crash" || (args.fault == "crash-once" && first_to_crash())) std::abort();
        if (args.fault == "stall") {
          for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
        }
        nlohmann::json j;
        try {
          Status targeted = engine.set_targets(seg->targets);
          auto r = targeted.ok() ? engine.transcribe(seg->samples, seg->offset) : Result<asr::Transcript>(targeted);
          if (r.ok()) {
            j = {{"type", "result"}, {"id", seg->id}, {"transcript", asr::to_json(*r)}};
          } else {
            j = status_fields(r.status());
            j["type"] = "error";
            j["id"] = seg->id;
          }
        } catch (const std::exception& e) {
          j = {{"type", "error"}, {"id", seg->id}, {"code", "kInternal"}, {"message", e.what()}};
        }
        --busy;
        ++done;
        reply.send(std::move(j));
      }
    });
  }
  reply.send({{"type", "ready"}});

  int code = 0;
  MessageReader reader(STDIN_FILENO);
  for (;;) {
    auto m = reader.next();
    if (!m.ok()) {
      SF_LOG_ERROR("worker {}: {}", ::getpid(), m.status().message());
      code = 4;
      break;
    }
    if (!*m) break;  // the parent closed the pipe
    const std::string type = (*m)->type();
    const nlohmann::json& h = (*m)->header;
    if (type == "transcribe") {
      auto samples = samples_from_payload((*m)->payload);
      Segment seg{h.value("id", std::int64_t{0}), h.value("offset", 0.0), {}, {}};
      if (auto t = h.find("targets"); t != h.end() && t->is_array()) {
        for (const auto& w : *t) {
          if (w.is_string()) seg.targets.push_back(w.get<std::string>());
        }
      }
      if (!samples.ok()) {
        nlohmann::json j = status_fields(samples.status());
        j["type"] = "error";
        j["id"] = seg.id;
        reply.send(j);
        continue;
      }
      seg.samples = std::move(samples).value();
      ++queued;
      queue.put(std::move(seg));
    } else if (type == "health") {
      reply.send({{"type", "health"},
                  {"id", h.value("id", std::int64_t{0})},
                  {"busy", busy.load()},
                  {"queued", queued.load()},
                  {"done", done.load()}});
    } else if (type == "shutdown") {
      stop = true;
      break;
    }
  }
  queue.close();
  for (auto& t : threads) t.join();
  ::close(out_fd);
  return code;
}

}  // namespace sf::workers
