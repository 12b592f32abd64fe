// The worker pool with real `studioflow worker` processes, the real
// PocketSphinx engine and speech synthesized with flite: results equal to
// the in-process path, and recovery from killed, hung, crashing and
// stalling workers.
#include "workers/pool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <dirent.h>
#include <fstream>
#include <set>
#include <thread>

#include "asr/formats.h"
#include "media/media_fixture.h"
#include "pipeline/transcriber.h"

namespace sf::workers {
namespace {

using sf::testing::sh;
using sf::testing::temp_dir;
using namespace std::chrono_literals;

const std::vector<std::string> kSentences = {
    "the quick brown fox jumps over the lazy dog",
    "we hold these truths to be self evident",
    "a journey of a thousand miles begins with a single step",
    "the early bird catches the worm",
    "all that glitters is not gold",
    "actions speak louder than words",
    "the pen is mightier than the sword",
    "knowledge is power and time is money",
};

class PoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(temp_dir("pool"));
    std::string inputs, filter;
    for (size_t i = 0; i < kSentences.size(); ++i) {
      std::string wav = (*dir_ / ("s" + std::to_string(i) + ".wav")).string();
      ASSERT_TRUE(sh("flite -voice rms -t \"" + kSentences[i] + "\" -o " + wav));
      inputs += " -i " + wav;
      filter += "[" + std::to_string(i) + ":a]aresample=16000,apad=pad_dur=1.2[s" + std::to_string(i) + "];";
    }
    for (size_t i = 0; i < kSentences.size(); ++i) filter += "[s" + std::to_string(i) + "]";
    filter += "concat=n=" + std::to_string(kSentences.size()) + ":v=0:a=1";
    talk_ = new std::string((*dir_ / "talk.wav").string());
    ASSERT_TRUE(sh("ffmpeg -v error -y" + inputs + " -filter_complex \"" + filter + "\" -ac 1 -ar 16000 " + *talk_));
    // The reference: the same transcription with engines in this process.
    pipeline::TranscribeOptions o;
    o.workers = 2;
    auto r = pipeline::transcribe_inputs({*talk_}, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    reference_ = new std::string(asr::to_json(r->front().transcript).dump());
    ASSERT_GE(r->front().transcript.segments.size(), 4u);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete talk_;
    delete reference_;
  }

  static PoolOptions options(int processes, int instances = 1) {
    PoolOptions o;
    o.program = SF_BINARY;
    for (int i = 0; i < processes; ++i) o.workers.push_back({-1, instances});
    return o;
  }

  static Result<std::vector<pipeline::InputTranscript>> run(WorkerPool* pool, const std::atomic<bool>* cancel = nullptr) {
    pipeline::TranscribeOptions o;
    o.pool = pool;
    o.cancel = cancel;
    return pipeline::transcribe_inputs({*talk_}, o);
  }

  static std::string dump(const pipeline::InputTranscript& t) { return asr::to_json(t.transcript).dump(); }

  // Waits until some worker holds a segment; returns its pid (0 on timeout).
  static pid_t busy_worker(WorkerPool* pool) {
    for (int i = 0; i < 20000; ++i) {
      for (const auto& w : pool->status().workers) {
        if (w.in_flight > 0 && w.pid > 0) return w.pid;
      }
      std::this_thread::sleep_for(1ms);
    }
    return 0;
  }

  static std::filesystem::path* dir_;
  static std::string* talk_;
  static std::string* reference_;
};

std::filesystem::path* PoolTest::dir_ = nullptr;
std::string* PoolTest::talk_ = nullptr;
std::string* PoolTest::reference_ = nullptr;

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST_F(PoolTest, ResultsEqualTheInProcessPath) {
  auto pool = WorkerPool::start(options(2));
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  EXPECT_EQ((*pool)->capacity(), 4);
  auto r = run(pool->get());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(dump(r->front()), *reference_);
  PoolStatus st = (*pool)->status();
  EXPECT_EQ(st.total, 2);
  EXPECT_EQ(st.healthy, 2);
  EXPECT_EQ(st.restarted, 0);
  EXPECT_GE(st.completed, 4);
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.queued, 0);
  auto j = st.to_json();
  EXPECT_EQ(j["worker_processes"]["total"], 2);
  EXPECT_EQ(j["models_per_gpu"]["cpu"], 2);
  EXPECT_EQ(j["pipeline_stages"]["transcription"]["completed"], st.completed);
  // Both processes took work.
  for (const auto& w : st.workers) EXPECT_GT(w.completed, 0) << "worker " << w.slot;
}

TEST_F(PoolTest, TheCliProcessPathEqualsInProcess) {
  // `studioflow transcribe` through worker processes and with --in-process.
  std::string a = (*dir_ / "cli_pool").string(), b = (*dir_ / "cli_thread").string();
  std::filesystem::create_directories(a);
  std::filesystem::create_directories(b);
  ASSERT_TRUE(sh(std::string(SF_BINARY) + " -q transcribe --no-library --workers 2 -o " + a + " -i " + *talk_));
  ASSERT_TRUE(sh(std::string(SF_BINARY) + " -q transcribe --no-library --workers 2 --in-process -o " + b + " -i " +
                 *talk_));
  std::ifstream fa(a + "/talk.json"), fb(b + "/talk.json");
  std::string ta((std::istreambuf_iterator<char>(fa)), {}), tb((std::istreambuf_iterator<char>(fb)), {});
  EXPECT_FALSE(ta.empty());
  EXPECT_EQ(ta, tb);
}

TEST_F(PoolTest, AWorkerKilledMidSegmentIsReplacedAndNothingIsLostOrDoubled) {
  auto pool = WorkerPool::start(options(2));
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  Result<std::vector<pipeline::InputTranscript>> r = internal_error("not run");
  std::thread job([&] { r = run(pool->get()); });
  pid_t victim = busy_worker(pool->get());
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  job.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(dump(r->front()), *reference_);  // every segment once, in order
  PoolStatus st = (*pool)->status();
  EXPECT_GE(st.restarted, 1);
  for (int i = 0; i < 500 && (*pool)->status().healthy < 2; ++i) std::this_thread::sleep_for(10ms);
  st = (*pool)->status();
  EXPECT_EQ(st.healthy, 2);
  for (const auto& w : st.workers) EXPECT_NE(w.pid, victim);
}

TEST_F(PoolTest, AHungWorkerIsReplacedAfterTheHealthCheck) {
  PoolOptions o = options(2);
  o.health_interval = 0.5;
  auto pool = WorkerPool::start(o);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  Result<std::vector<pipeline::InputTranscript>> r = internal_error("not run");
  std::thread job([&] { r = run(pool->get()); });
  pid_t victim = busy_worker(pool->get());
  ASSERT_GT(victim, 0);
  ASSERT_EQ(::kill(victim, SIGSTOP), 0);  // a real hang: the process answers nothing
  job.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(dump(r->front()), *reference_);
  PoolStatus st = (*pool)->status();
  EXPECT_GE(st.restarted, 1);
  EXPECT_GT(st.last_health_check, 0);
  EXPECT_FALSE(alive(victim));  // killed and reaped, not left stopped
}

TEST_F(PoolTest, AWorkerCrashingOnEverySegmentFailsTheJobAfterTheLimits) {
  PoolOptions o = options(2);
  o.restart_threshold = 2;
  o.max_attempts = 3;
  o.extra_args = {"--fault", "crash"};
  auto pool = WorkerPool::start(o);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  auto r = run(pool->get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("failed on 3 worker process(es)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("signal 6"), std::string::npos) << r.status().message();
  // Bounded: never more restarts than the threshold per slot.
  for (int i = 0; i < 300; ++i) std::this_thread::sleep_for(10ms);
  PoolStatus st = (*pool)->status();
  EXPECT_LE(st.restarted, 2 * 2);
  for (const auto& w : st.workers) EXPECT_LE(w.restarts, 2);
}

TEST_F(PoolTest, AllSlotsGivenUpIsAClearError) {
  PoolOptions o = options(1);
  o.restart_threshold = 1;
  o.max_attempts = 10;
  o.extra_args = {"--fault", "crash"};
  auto pool = WorkerPool::start(o);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  auto r = run(pool->get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no worker process left"), std::string::npos) << r.status().message();
  EXPECT_EQ((*pool)->status().healthy, 0);
  // Later calls fail at once instead of waiting.
  std::vector<float> audio(16000, 0.0f);
  auto again = (*pool)->transcribe(audio, 0);
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
}

TEST_F(PoolTest, AStallingSegmentIsBoundedByTheTranscriptionTimeout) {
  PoolOptions o = options(1);
  o.segment_timeout = 1;
  o.max_attempts = 2;
  o.restart_threshold = 3;
  o.extra_args = {"--fault", "stall"};
  auto pool = WorkerPool::start(o);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  std::vector<float> audio(16000, 0.01f);
  auto r = (*pool)->transcribe(audio, 5.0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TRANSCRIPTION_TIMEOUT"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("5.00 s"), std::string::npos) << r.status().message();
  EXPECT_GE((*pool)->status().restarted, 1);
}

TEST_F(PoolTest, AWorkerThatCrashesOnceLosesNothing) {
  PoolOptions o = options(1, 2);
  // The first process to take a segment crashes on it; the rest work.
  o.extra_args = {"--fault", "crash-once", "--fault-file", (*dir_ / "crashed-once").string()};
  std::filesystem::remove(*dir_ / "crashed-once");
  auto pool = WorkerPool::start(o);
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  auto r = run(pool->get());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(dump(r->front()), *reference_);
  EXPECT_GE((*pool)->status().restarted, 1);
}

TEST_F(PoolTest, ManyJobsShareOnePool) {
  auto pool = WorkerPool::start(options(2));
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  std::vector<Result<std::vector<pipeline::InputTranscript>>> results(3, internal_error("not run"));
  std::vector<std::thread> jobs;
  for (size_t i = 0; i < results.size(); ++i) jobs.emplace_back([&, i] { results[i] = run(pool->get()); });
  for (auto& j : jobs) j.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(dump(r->front()), *reference_);
  }
  EXPECT_EQ((*pool)->status().restarted, 0);
}

TEST_F(PoolTest, CancellingAJobLeavesThePoolUsable) {
  auto pool = WorkerPool::start(options(2));
  ASSERT_TRUE(pool.ok()) << pool.status().message();
  std::atomic<bool> stop{false};
  Result<std::vector<pipeline::InputTranscript>> r = internal_error("not run");
  std::thread job([&] { r = run(pool->get(), &stop); });
  ASSERT_GT(busy_worker(pool->get()), 0);
  stop = true;
  job.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  auto again = run(pool->get());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(dump(again->front()), *reference_);
}

TEST_F(PoolTest, AWorkerThatCannotLoadItsEngineFailsTheStartClearly) {
  PoolOptions o = options(2);
  o.engine.model = (*dir_ / "no-such-model").string();
  auto pool = WorkerPool::start(o);
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("no-such-model"), std::string::npos) << pool.status().message();
  o = options(1);
  o.program = (*dir_ / "no-such-program").string();
  pool = WorkerPool::start(o);
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("no-such-program"), std::string::npos) << pool.status().message();
}

// The pids of `parent`'s child processes.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    long ppid;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

TEST_F(PoolTest, NoWorkerOutlivesItsParent) {
  // A real `studioflow transcribe` on worker processes, killed outright.
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    ::execl(SF_BINARY, SF_BINARY, "-q", "transcribe", "--no-library", "--workers", "2", "-i", talk_->c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<pid_t> workers;
  for (int i = 0; i < 2000 && workers.size() < 2; ++i) {
    workers = children_of(parent);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(workers.size(), 2u);
  std::this_thread::sleep_for(300ms);  // let them load and take segments
  ASSERT_EQ(::kill(parent, SIGKILL), 0);
  int status = 0;
  ::waitpid(parent, &status, 0);
  for (pid_t w : workers) {
    bool gone = false;
    for (int i = 0; i < 300 && !gone; ++i) {
      // Reparented to init (or a subreaper), which reaps it once dead.
      std::ifstream stat("/proc/" + std::to_string(w) + "/stat");
      std::string line;
      std::getline(stat, line);
      gone = line.empty() || line.find(") Z") != std::string::npos;
      if (!gone) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(gone) << "worker " << w << " outlived its parent";
  }
}

}  // namespace
}  // namespace sf::workers
