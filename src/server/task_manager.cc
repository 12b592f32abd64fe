#include "server/task_manager.h"
#include "server/task_internal.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/core.h>

#include "core/cancel.h"
#include "core/log.h"
#include "export/timeline.h"
#include "gpu/inventory.h"
#include "media/remote.h"
#include "pipeline/compilation.h"
#include "search/matcher.h"
#include "workers/pool.h"

namespace sf::server {
namespace fs = std::filesystem;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string new_id() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mu);
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

bool terminal(const std::string& s) { return s == "completed" || s == "error" || s == "cancelled"; }

// The title a URL or path suggests before anything is read.
std::string guess_title(const std::string& input) {
  std::string s = input;
  if (auto q = s.find_first_of("?#"); q != std::string::npos && media::is_http_url(s)) s = s.substr(0, q);
  while (!s.empty() && s.back() == '/') s.pop_back();
  auto slash = s.rfind('/');
  std::string name = slash == std::string::npos ? s : s.substr(slash + 1);
  return name.empty() ? input : name;
}

Status bad(const std::string& m) { return invalid_argument(m); }

// Reads an optional number field within [lo, hi].
Result<std::optional<double>> number_field(const nlohmann::json& body, const char* key, double lo, double hi) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return bad(fmt::format("\"{}\" must be a number", key));
  double v = it->get<double>();
  if (!(v >= lo && v <= hi)) return bad(fmt::format("\"{}\" must be between {} and {}", key, lo, hi));
  return std::optional<double>(v);
}

Result<std::optional<bool>> bool_field(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return bad(fmt::format("\"{}\" must be true or false", key));
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<std::string>> string_field(const nlohmann::json& body, const char* key, size_t max = 256) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return bad(fmt::format("\"{}\" must be a string", key));
  std::string v = it->get<std::string>();
  if (v.size() > max) return bad(fmt::format("\"{}\" is too long", key));
  return std::optional<std::string>(v);
}

}  // namespace

bool TaskManager::valid_id(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

TaskManager::TaskManager(ServiceOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<TaskManager>> TaskManager::open(ServiceOptions options) {
  std::error_code ec;
  if (options.data_dir.empty()) return invalid_argument("serve: --data DIR is required");
  fs::create_directories(fs::path(options.data_dir) / "outputs", ec);
  if (ec) return output_error("serve: cannot create " + options.data_dir + "/outputs: " + ec.message());
  if (options.library_path.empty()) options.library_path = (fs::path(options.data_dir) / "library.db").string();
  for (auto& root : options.media_roots) {
    fs::path c = fs::absolute(root, ec).lexically_normal();
    if (ec || !fs::is_directory(c)) return not_found("serve: --media-root " + root + " is not a folder");
    root = c.string();
    while (root.size() > 1 && root.back() == '/') root.pop_back();
  }
  options.max_running = std::max(1, options.max_running);
  std::unique_ptr<TaskManager> m(new TaskManager(std::move(options)));
  SF_ASSIGN_OR_RETURN(m->store_, TaskStore::open((fs::path(m->options_.data_dir) / "tasks.db").string()));
  // Resume what a stop or crash interrupted, oldest first.
  SF_ASSIGN_OR_RETURN(auto unfinished, m->store_->unfinished());
  for (auto& r : unfinished) {
    auto t = std::make_shared<Task>();
    t->id = r.id;
    t->request = r.request;
    t->status = r.status;
    t->created = r.created;
    t->status["status"] = "queued";
    t->status["stage"] = "queued";
    t->status["resumed"] = t->status.value("resumed", 0) + 1;
    SF_LOG_INFO("resuming task {}", t->id);
    m->tasks_[t->id] = t;
    m->queue_.push_back(t->id);
    m->save(*t, true);
  }
  for (int i = 0; i < m->options_.max_running; ++i) m->runners_.emplace_back([p = m.get()] { p->run_loop(); });
  m->janitor_ = std::thread([p = m.get()] {
    std::unique_lock lock(p->mu_);
    while (!p->stopping_) {
      lock.unlock();
      p->expire();
      lock.lock();
      p->cv_.wait_for(lock, std::chrono::seconds(60), [&] { return p->stopping_.load(); });
    }
  });
  return m;
}

TaskManager::~TaskManager() { shutdown(); }

void TaskManager::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_.exchange(true)) {
      // already stopping; fall through to join below (only the first caller joins)
    }
    for (auto& [id, t] : tasks_) {
      if (t->job != nullptr) t->job->cancel();
      if (t->importing) t->stop = true;
    }
    cv_.notify_all();
  }
  for (auto& r : runners_) {
    if (r.joinable()) r.join();
  }
  if (janitor_.joinable()) janitor_.join();
}

std::shared_ptr<TaskManager::Task> TaskManager::find(const std::string& id) {
  if (!valid_id(id)) return nullptr;
  auto it = tasks_.find(id);
  if (it != tasks_.end()) return it->second;
  auto r = store_->get(id);
  if (!r.ok() || !r->has_value()) return nullptr;
  auto t = std::make_shared<Task>();
  t->id = (*r)->id;
  t->request = (*r)->request;
  t->status = (*r)->status;
  t->created = (*r)->created;
  tasks_[id] = t;
  return t;
}

Result<nlohmann::json> TaskManager::submit(const nlohmann::json& body) {
  const double received = now();
  if (stopping_) return unavailable("the server is shutting down");
  if (!body.is_object()) return bad("the body must be a JSON object");
  static const std::vector<std::string> known = {
      "url", "urls", "target_words", "padding_before", "padding_after", "merge_gap", "max_length", "max_clips",
      "match", "engine", "model", "language", "size", "fps", "exports", "targeted", "min_confidence"};
  for (const auto& [k, v] : body.items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) return bad("unknown field \"" + k + "\"");
  }
  // Inputs.
  nlohmann::json urls = body.contains("url") ? body["url"] : body.value("urls", nlohmann::json());
  if (urls.is_string()) urls = nlohmann::json::array({urls});
  if (urls.is_null() || (urls.is_array() && urls.empty())) return bad("\"url\" is required: a URL or a list of URLs");
  if (!urls.is_array()) return bad("\"url\" must be a string or a list of strings");
  if (urls.size() > 1000) return bad("\"url\" lists too many inputs (at most 1000)");
  std::vector<std::string> inputs;
  for (const auto& u : urls) {
    if (!u.is_string() || u.get<std::string>().empty()) return bad("every \"url\" entry must be a non-empty string");
    std::string s = u.get<std::string>();
    if (s.size() > 8192) return bad("a \"url\" entry is too long");
    if (s.find("://") != std::string::npos || s.rfind("file:", 0) == 0 || s.rfind("data:", 0) == 0) {
      if (!media::is_http_url(s)) return bad("\"" + s + "\": only http:// and https:// URLs are accepted");
      inputs.push_back(s);
      continue;
    }
    if (options_.media_roots.empty()) {
      return bad("\"" + s + "\": local paths are not accepted by this server (start it with --media-root DIR)");
    }
    // Under a root by its own spelling ("..", "." resolved, no symlink
    // followed): links the operator placed inside a root are theirs to make.
    std::error_code ec;
    fs::path c = fs::absolute(s, ec).lexically_normal();
    bool inside = false;
    for (const auto& root : options_.media_roots) {
      std::string rs = root + "/";
      if (!ec && c.string().rfind(rs, 0) == 0) inside = true;
    }
    if (!inside) return bad("\"" + s + "\": not under a --media-root of this server");
    if (!fs::is_regular_file(c, ec)) return bad("\"" + s + "\": no such file");
    inputs.push_back(c.string());
  }
  // Words.
  auto words = body.find("target_words");
  if (words == body.end() || words->is_null()) return bad("\"target_words\" is required: a list of words or phrases");
  nlohmann::json wl = words->is_string() ? nlohmann::json::array({*words}) : *words;
  if (!wl.is_array() || wl.empty()) return bad("\"target_words\" must be a non-empty list of strings");
  if (wl.size() > 200) return bad("\"target_words\" lists too many words (at most 200)");
  std::vector<std::string> target;
  for (const auto& w : wl) {
    if (!w.is_string()) return bad("every \"target_words\" entry must be a string");
    std::string s = w.get<std::string>();
    if (s.find_first_not_of(" \t\r\n") == std::string::npos) return bad("\"target_words\" has an empty entry");
    if (s.size() > 500) return bad("a \"target_words\" entry is too long");
    target.push_back(s);
  }
  nlohmann::json req = {{"url", inputs}, {"target_words", target}};
  SF_ASSIGN_OR_RETURN(auto pb, number_field(body, "padding_before", 0, 600));
  SF_ASSIGN_OR_RETURN(auto pa, number_field(body, "padding_after", 0, 600));
  SF_ASSIGN_OR_RETURN(auto mg, number_field(body, "merge_gap", 0, 3600));
  SF_ASSIGN_OR_RETURN(auto ml, number_field(body, "max_length", 0.001, 1e7));
  SF_ASSIGN_OR_RETURN(auto mc, number_field(body, "max_clips", 1, 1e6));
  SF_ASSIGN_OR_RETURN(auto fps, number_field(body, "fps", 1, 240));
  req["padding_before"] = pb.value_or(1.0);
  req["padding_after"] = pa.value_or(1.0);
  req["merge_gap"] = mg.value_or(2.0);
  req["max_length"] = ml ? nlohmann::json(*ml) : nlohmann::json();
  if (mc && *mc != static_cast<int>(*mc)) return bad("\"max_clips\" must be a whole number");
  req["max_clips"] = mc ? nlohmann::json(static_cast<int>(*mc)) : nlohmann::json();
  req["fps"] = fps ? nlohmann::json(*fps) : nlohmann::json();
  SF_ASSIGN_OR_RETURN(auto targeted, bool_field(body, "targeted"));
  SF_ASSIGN_OR_RETURN(auto min_confidence, number_field(body, "min_confidence", 0, 1));
  req["targeted"] = targeted.value_or(true);
  req["min_confidence"] = min_confidence.value_or(search::kDefaultMinConfidence);
  SF_ASSIGN_OR_RETURN(auto match, string_field(body, "match"));
  if (match && !search::parse_match_mode(*match).ok()) return bad("\"match\" must be exact, prefix or regex");
  req["match"] = match.value_or("exact");
  SF_ASSIGN_OR_RETURN(auto engine, string_field(body, "engine"));
  if (engine && *engine != "sphinx" && *engine != "whisper") return bad("\"engine\" must be sphinx or whisper");
  if (engine && *engine != options_.engine.engine) {
    return bad("\"engine\": this server runs " + options_.engine.engine + " (start serve with --engine to change it)");
  }
  SF_ASSIGN_OR_RETURN(auto model, string_field(body, "model"));
  if (model && *model != options_.engine.model && !model->empty()) {
    return bad("\"model\": this server runs " +
               (options_.engine.model.empty() ? std::string("the default model") : options_.engine.model));
  }
  SF_ASSIGN_OR_RETURN(auto size, string_field(body, "size", 32));
  if (size) {
    int w = 0, h = 0;
    char x = 0;
    if (std::sscanf(size->c_str(), "%d%c%d", &w, &x, &h) != 3 || x != 'x' || w < 16 || h < 16 || w > 7680 ||
        h > 4320 || w % 2 || h % 2) {
      return bad("\"size\" must be WIDTHxHEIGHT with even numbers, e.g. 1280x720");
    }
  }
  req["size"] = size ? nlohmann::json(*size) : nlohmann::json();
  // Editor exports, by format name ("edl", "fcpxml", ...); each once.
  if (auto ex = body.find("exports"); ex != body.end() && !ex->is_null()) {
    const nlohmann::json list = ex->is_string() ? nlohmann::json::array({*ex}) : *ex;
    if (!list.is_array()) return bad("\"exports\" must be a list of format names (" + exports::formats_help() + ")");
    nlohmann::json names = nlohmann::json::array();
    for (const auto& e : list) {
      if (!e.is_string()) return bad("every \"exports\" entry must be a format name");
      auto f = exports::parse_format(e.get<std::string>());
      if (!f.ok()) return bad("\"exports\": " + f.status().message());
      const std::string name(exports::format_name(*f));
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return bad("\"exports\" names " + name + " twice");
      }
      names.push_back(name);
    }
    req["exports"] = names;
  }
  // The job validates the rest (e.g. a regex) the same way the CLI does.
  {
    pipeline::CompilationRequest probe;
    probe.inputs = inputs;
    probe.target_words = target;
    probe.match = *search::parse_match_mode(req["match"].get<std::string>());
    probe.dry_run = true;
    auto job = pipeline::CompilationJob::create(probe);
    if (!job.ok()) return bad(job.status().message());
  }

  auto t = std::make_shared<Task>();
  t->id = new_id();
  t->request = req;
  t->created = received;
  const std::string title = guess_title(inputs.front());
  t->status = {{"task_id", t->id},
               {"status", "queued"},
               {"stage", "queued"},
               {"current_video", 0},
               {"total_videos", static_cast<int>(inputs.size())},
               {"current_video_title", title},
               {"video_title", title},
               {"segments_processing", 0},
               {"segments_completed", 0},
               {"total_segments", 0},
               {"clips_downloading", 0},
               {"clips_downloaded", 0},
               {"transcription_progress", 0.0},
               {"words_found", 0},
               {"clips_extracted", nlohmann::json::array()},
               {"compilation_length", 0.0},
               {"word_count", 0},
               {"early_termination", false},
               {"compilation_path", nullptr},
               {"video_file", nullptr},
               {"final_duration", 0.0},
               {"errors", nlohmann::json::array()},
               {"request_received_time", received},
               {"start_time", nullptr},
               {"processing_start_time", nullptr},
               {"elapsed_time", 0.0},
               {"total_transcription_time", 0.0},
               {"total_request_time", nullptr},
               {"processing_time", nullptr},
               {"end_time", nullptr},
               {"eta", nullptr}};
  {
    std::lock_guard lock(mu_);
    if (static_cast<int>(queue_.size()) >= options_.max_queued) {
      return unavailable("the queue is full (" + std::to_string(options_.max_queued) + " tasks waiting)");
    }
    tasks_[t->id] = t;
    save(*t, true);
    queue_.push_back(t->id);
    cv_.notify_all();
  }
  int gpu_count = 0;
  return nlohmann::json{{"task_id", t->id},
                        {"status", "queued"},
                        {"video_title", title},
                        {"total_videos", static_cast<int>(inputs.size())},
                        {"gpu_count", gpu_count}};
}

// Writes the task to the store: always when forced (a stage or state
// change), else at most every checkpoint_interval. Called with mu_ held.
void TaskManager::save(Task& t, bool force) {
  const double n = now();
  if (!force && n - t.last_saved < options_.checkpoint_interval) return;
  t.last_saved = n;
  TaskRecord r{t.id, t.request, t.status, t.created, n};
  Status s = store_->put(r);
  if (!s.ok()) SF_LOG_ERROR("task {}: cannot save its status: {}", t.id, s.message());
}

void TaskManager::run_loop() {
  for (;;) {
    std::shared_ptr<Task> t;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      auto id = queue_.front();
      queue_.pop_front();
      auto it = tasks_.find(id);
      if (it == tasks_.end()) continue;
      t = it->second;
      if (terminal(t->status.value("status", std::string()))) continue;  // cancelled while queued
    }
    run_task(t);
  }
}

void TaskManager::run_task(const std::shared_ptr<Task>& t) {
  if (t->request.value("kind", std::string()) == "import") return run_import_task(t);
  namespace p = pipeline;
  const nlohmann::json& q = t->request;
  p::CompilationRequest req;
  req.inputs = q["url"].get<std::vector<std::string>>();
  req.target_words = q["target_words"].get<std::vector<std::string>>();
  req.match = *search::parse_match_mode(q.value("match", std::string("exact")));
  req.clip.padding_before = q.value("padding_before", 1.0);
  req.clip.padding_after = q.value("padding_after", 1.0);
  req.clip.merge_gap = q.value("merge_gap", 2.0);
  req.targeted = q.value("targeted", true);
  req.min_confidence = q.value("min_confidence", search::kDefaultMinConfidence);
  if (q.contains("max_length") && q["max_length"].is_number()) req.clip.max_length = q["max_length"].get<double>();
  if (q.contains("max_clips") && q["max_clips"].is_number()) req.clip.max_clips = q["max_clips"].get<int>();
  if (q.contains("fps") && q["fps"].is_number()) req.render.fps = q["fps"].get<double>();
  if (q.contains("size") && q["size"].is_string()) {
    std::sscanf(q["size"].get<std::string>().c_str(), "%dx%d", &req.render.width, &req.render.height);
  }
  req.transcribe.engine = options_.engine;
  req.transcribe.pool = options_.pool;
  req.library.path = options_.library_path;
  req.continue_on_input_error = true;
  const std::string output = (fs::path(options_.data_dir) / "outputs" / (t->id + ".mp4")).string();
  req.output = output;
  if (q.contains("exports") && q["exports"].is_array()) {
    for (const auto& name : q["exports"]) {
      auto f = exports::parse_format(name.get<std::string>());
      if (f.ok()) req.exports.push_back({export_path(t->id, *f), *f});
    }
  }

  auto job = p::CompilationJob::create(std::move(req));
  const double started = now();
  std::unique_lock lock(mu_);
  if (!job.ok()) {
    t->status["status"] = "error";
    t->status["stage"] = "done";
    t->status["errors"].push_back(job.status().message());
    t->status["end_time"] = started;
    t->version++;
    save(*t, true);
    cv_.notify_all();
    return;
  }
  t->job = job->get();
  t->status["status"] = "processing";
  t->status["stage"] = "analyzing";
  if (t->status["start_time"].is_null()) t->status["start_time"] = started;
  t->status["processing_start_time"] = started;
  t->version++;
  save(*t, true);
  cv_.notify_all();
  const double received = t->status.value("request_received_time", started);
  std::string last_stage;
  double transcribe_started = 0, transcribe_seconds = t->status.value("total_transcription_time", 0.0);
  int last_segments = 0;
  double last_audio = 0;
  lock.unlock();

  auto progress = [&](const p::CompilationProgress& pr) {
    std::lock_guard g(mu_);
    nlohmann::json& s = t->status;
    const std::string stage(p::stage_name(pr.stage));
    const double n = now();
    if (stage == "transcribing" && transcribe_started == 0) transcribe_started = n;
    if (transcribe_started > 0 && stage != "transcribing" && last_stage == "transcribing") {
      transcribe_seconds += n - transcribe_started;
      transcribe_started = -1;
    }
    s["stage"] = stage;
    s["current_video"] = pr.current_video;
    s["total_videos"] = pr.total_videos;
    if (!pr.current_video_title.empty()) s["current_video_title"] = pr.current_video_title;
    if (pr.current_video == 1 && !pr.current_video_title.empty()) s["video_title"] = pr.current_video_title;
    s["segments_completed"] = pr.segments_completed;
    s["total_segments"] = pr.total_segments;
    s["segments_processing"] = std::max(0, pr.total_segments - pr.segments_completed);
    // Percent; every input's audio is transcribed once the job matches.
    const bool transcribed = stage == "matching" || stage == "compiling" || stage == "done";
    s["transcription_progress"] = transcribed ? 100.0 : std::round(pr.transcription_progress * 1000.0) / 10.0;
    s["words_found"] = pr.words_found;
    s["clips_downloaded"] = pr.clips_done;
    s["clips_downloading"] = stage == "compiling" && pr.clips_done < pr.clips_total ? 1 : 0;
    s["elapsed_time"] = n - received;
    s["total_transcription_time"] = transcribe_seconds + (transcribe_started > 0 ? n - transcribe_started : 0);
    s["eta"] = pr.eta >= 0 ? nlohmann::json(pr.eta) : nlohmann::json();
    s["audio_done"] = pr.audio_done;
    s["audio_total"] = pr.audio_total;
    s["render_done"] = pr.render_done;
    s["render_total"] = pr.render_total;
    s["clips_total"] = pr.clips_total;
    segments_transcribed_ += std::max(0, pr.segments_completed - last_segments);
    last_segments = std::max(last_segments, pr.segments_completed);
    audio_seconds_ += std::max(0.0, pr.audio_done - last_audio);
    last_audio = std::max(last_audio, pr.audio_done);
    t->version++;
    save(*t, stage != last_stage);
    last_stage = stage;
    cv_.notify_all();
  };

  auto result = (*job)->run(progress);
  const double ended = now();
  lock.lock();
  t->job = nullptr;
  nlohmann::json& s = t->status;
  if (transcribe_started > 0) transcribe_seconds += ended - transcribe_started;
  s["total_transcription_time"] = transcribe_seconds;
  const p::CompilationReport& report = result.ok() ? *result : (*job)->last_report();
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : report.errors) errors.push_back(e);
  s["transcripts_from_library"] = report.inputs_from_library;
  auto finish = [&](const char* state) {
    s["status"] = state;
    s["stage"] = "done";
    s["end_time"] = ended;
    s["elapsed_time"] = ended - received;
    s["total_request_time"] = ended - received;
    s["processing_time"] = ended - started;
    s["errors"] = errors;
  };
  if (!result.ok() && result.status().code() == Code::kCancelled && !t->user_cancel) {
    // The server is stopping: the task stays "processing" and is resumed.
    s["status"] = "processing";
    s["stage"] = "interrupted";
    t->version++;
    save(*t, true);
    cv_.notify_all();
    return;
  }
  if (result.ok()) {
    nlohmann::json clips = nlohmann::json::array();
    for (const auto& c : result->clips) {
      clips.push_back({{"id", {{"video", c.video}, {"segment", c.segment}, {"clip", c.clip}}},
                       {"video", c.video},
                       {"start", c.start},
                       {"end", c.end},
                       {"words", c.words},
                       {"text", c.text},
                       {"confidence", c.confidence},
                       {"matches", p::matches_to_json(c.matches)},
                       {"output_start", c.output_start},
                       {"output_end", c.output_end}});
    }
    const double duration = result->rendered ? result->rendered->duration : 0;
    s["clips_extracted"] = clips;
    s["clips_downloaded"] = clips.size();
    s["clips_downloading"] = 0;
    s["compilation_length"] = duration;
    s["final_duration"] = duration;
    s["word_count"] = result->matches;
    s["words_found"] = result->matches;
    s["early_termination"] = result->early_termination || t->compile_found;
    s["compilation_path"] = "/download/" + t->id;
    s["video_file"] = t->id + ".mp4";
    if (!result->exports.empty()) {
      // Each export's download route, by format name.
      nlohmann::json ex = nlohmann::json::object();
      for (const auto& e : result->exports) {
        const std::string name(exports::format_name(e.format));
        ex[name] = "/download/" + t->id + "?format=" + name;
      }
      s["exports"] = ex;
    }
    finish("completed");
  } else if (result.status().code() == Code::kNoMatch) {
    errors.push_back("No target words found in any video");
    s["word_count"] = 0;
    finish("completed");
  } else if (result.status().code() == Code::kCancelled) {
    finish("cancelled");
  } else {
    errors.push_back(result.status().message());
    finish("error");
  }
  t->version++;
  save(*t, true);
  cv_.notify_all();
}

std::optional<nlohmann::json> TaskManager::status(const std::string& id) {
  std::lock_guard lock(mu_);
  auto t = find(id);
  if (t == nullptr) return std::nullopt;
  nlohmann::json s = t->status;
  if (!terminal(s.value("status", std::string())) && s["request_received_time"].is_number()) {
    s["elapsed_time"] = now() - s["request_received_time"].get<double>();
  }
  // Performance, from this task's own figures.
  const double tt = s.value("total_transcription_time", 0.0);
  const double audio = s.value("audio_done", 0.0);
  const double elapsed = s.value("elapsed_time", 0.0);
  s["performance_metrics"] = {{"avg_transcription_speed", tt > 0 ? audio / tt : 0.0},
                              {"gpu_efficiency", nullptr},
                              {"pipeline_throughput", elapsed > 0 ? s.value("segments_completed", 0) / elapsed : 0.0},
                              {"total_request_time", s["total_request_time"]}};
  // The machine: GPUs and the shared worker pool.
  gpu::GpuInventory inv = gpu::take_inventory();
  nlohmann::json util = nlohmann::json::object(), mem = nlohmann::json::object();
  for (size_t i = 0; i < inv.devices.size(); ++i) {
    if (!inv.devices[i].nvml) continue;
    const auto& n = *inv.devices[i].nvml;
    if (n.gpu_utilization_percent) util[std::to_string(i)] = *n.gpu_utilization_percent;
    mem[std::to_string(i)] = fmt::format("{:.1f}GB/{:.0f}GB", n.memory_used_bytes / 1e9, n.memory_total_bytes / 1e9);
  }
  s["gpu_count"] = inv.devices.size();
  s["gpus_active"] = nlohmann::json::array();
  s["gpu_utilization"] = util;
  s["gpu_memory_used"] = mem;
  const int clips_total = s.value("clips_total", 0), clips_done = s.value("clips_downloaded", 0);
  const bool compiling = s.value("stage", std::string()) == "compiling";
  nlohmann::json stages = {
      {"download", {{"active", s.value("stage", std::string()) == "analyzing" ? 1 : 0},
                    {"completed", std::max(0, s.value("current_video", 0) - 1)},
                    {"queued", std::max(0, s.value("total_videos", 0) - s.value("current_video", 0))}}},
      {"transcription", {{"active", s.value("segments_processing", 0)},
                         {"completed", s.value("segments_completed", 0)},
                         {"queued", 0}}},
      {"compilation", {{"active", compiling && clips_done < clips_total ? 1 : 0},
                       {"completed", clips_done},
                       {"queued", std::max(0, clips_total - clips_done - (compiling ? 1 : 0))}}}};
  if (options_.pool != nullptr) {
    nlohmann::json pool = options_.pool->status().to_json();
    s["worker_processes"] = pool["worker_processes"];
    s["models_per_gpu"] = pool["models_per_gpu"];
    // A task's segments in flight are shared with other tasks: the pool's queue.
    stages["transcription"]["queued"] = pool["pipeline_stages"]["transcription"]["queued"];
  } else {
    s["worker_processes"] = {{"total", 0}, {"healthy", 0}, {"restarted", 0}, {"last_health_check", nullptr}};
    s["models_per_gpu"] = nlohmann::json::object();
  }
  s["pipeline_stages"] = stages;
  return s;
}

Result<nlohmann::json> TaskManager::history(const std::string& id) {
  if (!valid_id(id)) return not_found("unknown task id");
  SF_ASSIGN_OR_RETURN(auto events, store_->history(id));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events) out.push_back({{"time", e.time}, {"status", e.status}, {"stage", e.stage}});
  return out;
}

nlohmann::json TaskManager::list(int limit) {
  nlohmann::json out = nlohmann::json::array();
  auto records = store_->list(limit);
  if (!records.ok()) return out;
  std::lock_guard lock(mu_);
  for (auto& r : *records) {
    auto it = tasks_.find(r.id);
    const nlohmann::json& s = it != tasks_.end() ? it->second->status : r.status;
    out.push_back({{"task_id", r.id},
                   {"status", s.value("status", std::string())},
                   {"stage", s.value("stage", std::string())},
                   {"video_title", s.value("video_title", std::string())},
                   {"total_videos", s.value("total_videos", 0)},
                   {"target_words", r.request.value("target_words", nlohmann::json::array())},
                   {"transcription_progress", s.value("transcription_progress", 0.0)},
                   {"words_found", s.value("words_found", 0)},
                   {"clips_downloaded", s.value("clips_downloaded", 0)},
                   {"clips_total", s.value("clips_total", 0)},
                   {"render_done", s.value("render_done", 0.0)},
                   {"render_total", s.value("render_total", 0.0)},
                   {"eta", s.contains("eta") ? s["eta"] : nlohmann::json()},
                   {"errors", s.value("errors", nlohmann::json::array())},
                   {"compilation_path", s.contains("compilation_path") ? s["compilation_path"] : nlohmann::json()},
                   {"created", r.created}});
  }
  return out;
}

Result<nlohmann::json> TaskManager::cancel(const std::string& id, bool compile_found) {
  std::lock_guard lock(mu_);
  auto t = find(id);
  if (t == nullptr) return not_found("unknown task id");
  const std::string state = t->status.value("status", std::string());
  if (terminal(state)) return invalid_argument("task " + id + " has already ended (" + state + ")");
  t->user_cancel = true;
  t->compile_found = compile_found;
  if (t->importing) {
    t->stop = true;  // an import keeps what it finished either way
  } else if (t->job != nullptr) {
    if (compile_found) {
      t->job->finish_early();
    } else {
      t->job->cancel();
    }
  } else {
    // Still queued: it never starts.
    const double n = now();
    t->status["status"] = "cancelled";
    t->status["stage"] = "done";
    t->status["end_time"] = n;
    t->status["total_request_time"] = n - t->status.value("request_received_time", n);
    t->version++;
    save(*t, true);
    cv_.notify_all();
  }
  return nlohmann::json{{"task_id", id}, {"status", compile_found ? "stopping" : "cancelling"},
                        {"early_termination", compile_found}};
}

std::optional<std::string> TaskManager::output_file(const std::string& id) {
  std::lock_guard lock(mu_);
  auto t = find(id);
  if (t == nullptr || t->status.value("status", std::string()) != "completed" ||
      t->status["video_file"].is_null()) {
    return std::nullopt;
  }
  fs::path f = fs::path(options_.data_dir) / "outputs" / (t->id + ".mp4");
  std::error_code ec;
  if (!fs::is_regular_file(f, ec)) return std::nullopt;
  return f.string();
}

std::string TaskManager::export_path(const std::string& id, exports::Format format) const {
  return (fs::path(options_.data_dir) / "outputs" / (id + std::string(exports::extension(format)))).string();
}

std::optional<std::string> TaskManager::export_file(const std::string& id, exports::Format format) {
  std::lock_guard lock(mu_);
  auto t = find(id);
  if (t == nullptr || t->status.value("status", std::string()) != "completed") return std::nullopt;
  const auto ex = t->status.find("exports");
  if (ex == t->status.end() || !ex->is_object() || !ex->contains(std::string(exports::format_name(format)))) {
    return std::nullopt;
  }
  const std::string f = export_path(t->id, format);
  std::error_code ec;
  if (!fs::is_regular_file(f, ec)) return std::nullopt;
  return f;
}

std::uint64_t TaskManager::version(const std::string& id) {
  std::lock_guard lock(mu_);
  auto t = find(id);
  return t == nullptr ? 0 : t->version;
}

std::uint64_t TaskManager::wait_for_change(const std::string& id, std::uint64_t version, double timeout) {
  std::unique_lock lock(mu_);
  auto t = find(id);
  if (t == nullptr) return 0;
  cv_.wait_for(lock, std::chrono::duration<double>(timeout), [&] { return t->version != version || stopping_; });
  return t->version;
}

TaskManager::Counts TaskManager::counts() {
  std::lock_guard lock(mu_);
  Counts c;
  for (auto& [id, t] : tasks_) {
    const std::string s = t->status.value("status", std::string());
    if (s == "queued") c.queued++;
    else if (s == "processing") c.processing++;
    else if (s == "completed") c.completed++;
    else if (s == "error") c.error++;
    else if (s == "cancelled") c.cancelled++;
  }
  c.segments_transcribed = segments_transcribed_;
  c.audio_seconds = audio_seconds_;
  return c;
}

void TaskManager::expire() {
  auto old = store_->expired(now() - options_.retention_seconds);
  if (!old.ok()) return;
  for (const auto& id : *old) {
    std::error_code ec;
    fs::remove(fs::path(options_.data_dir) / "outputs" / (id + ".mp4"), ec);
    for (exports::Format f : exports::all_formats()) fs::remove(export_path(id, f), ec);
    (void)store_->remove(id);
    std::lock_guard lock(mu_);
    tasks_.erase(id);
    SF_LOG_INFO("task {} expired and removed", id);
  }
}

}  // namespace sf::server
