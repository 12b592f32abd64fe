#include "server/openai.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <system_error>

#include <fmt/core.h>

#include "asr/formats.h"
#include "core/json.h"
#include "core/log.h"
#include "media/probe.h"
#include "pipeline/library_transcribe.h"
#include "server/http_service.h"
#include "server/task_manager.h"

namespace sf::server {
namespace fs = std::filesystem;
namespace {

// The server's engine and model as one model id: "sphinx", "whisper:base.en".
std::string model_id(const asr::EngineOptions& e) { return e.model.empty() ? e.engine : e.engine + ":" + e.model; }

std::string language_name(const std::string& code) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"en", "english"}, {"fr", "french"},  {"de", "german"},   {"es", "spanish"},  {"it", "italian"},
      {"pt", "portuguese"}, {"nl", "dutch"}, {"ru", "russian"}, {"ja", "japanese"}, {"zh", "chinese"},
      {"ko", "korean"},  {"pl", "polish"},  {"sv", "swedish"},  {"tr", "turkish"},  {"uk", "ukrainian"}};
  for (const auto& [c, n] : kNames) {
    if (code == c) return n;
  }
  return code;
}

std::string join_text(const asr::Transcript& t) {
  std::string out;
  for (const auto& s : t.segments) {
    if (s.text.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out += s.text;
  }
  return out;
}

// Whisper's measure of repetition: text bytes over their zlib size.
double compression_ratio(const std::string& text) {
  if (text.empty()) return 0;
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> buf(size);
  if (compress(buf.data(), &size, reinterpret_cast<const Bytef*>(text.data()), static_cast<uLong>(text.size())) != Z_OK ||
      size == 0) {
    return 0;
  }
  return static_cast<double>(text.size()) / static_cast<double>(size);
}

double avg_logprob(const asr::Segment& s) {
  if (s.words.empty()) return 0;
  double sum = 0;
  for (const auto& w : s.words) sum += std::log(std::max(1e-6, static_cast<double>(w.probability)));
  return sum / static_cast<double>(s.words.size());
}

// The value of a text field, the first of its name (or of `alt`).
std::string field(const httplib::Request& req, const char* name) {
  auto it = req.files.find(name);
  return it == req.files.end() ? std::string() : it->second.content;
}

bool has_field(const httplib::Request& req, const char* name) { return req.files.count(name) > 0; }

// A short extension from a client's file name (letters and digits only), so
// the temporary file keeps a hint of its container.
std::string safe_extension(const std::string& filename) {
  const std::string ext = fs::path(filename).extension().string();
  if (ext.size() < 2 || ext.size() > 9) return ".bin";
  for (size_t i = 1; i < ext.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(ext[i]))) return ".bin";
  }
  return ext;
}

std::string random_name() {
  static std::atomic<unsigned long> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // The server's pid first: leftovers of a dead server are told apart from
  // the live uploads of another one (see add_openai_routes).
  return fmt::format("{}-{:016x}-{}", getpid(), rng(), counter.fetch_add(1));
}

// Removes a file when it goes out of scope.
struct RemoveOnExit {
  fs::path path;
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

void handle_audio(HttpService& http, const httplib::Request& req, httplib::Response& res, const std::string& task) {
  const ServiceOptions& service = http.tasks()->options();
  if (!req.is_multipart_form_data()) {
    return openai_error(res, 400,
                        "the request must be multipart/form-data with the audio in a part named \"file\" "
                        "(Content-Type: " + (req.get_header_value("Content-Type").empty() ? std::string("none")
                                                                                          : req.get_header_value("Content-Type")) +
                            ")",
                        "file");
  }
  auto file_it = req.files.find("file");
  if (file_it == req.files.end()) return openai_error(res, 400, "\"file\" is missing: send the audio as a file part named \"file\"", "file");
  const httplib::MultipartFormData& file = file_it->second;
  if (file.content.empty()) return openai_error(res, 400, "\"file\" is empty", "file");
  if (file.content.size() > http.options().max_upload) {
    return openai_error(res, 413,
                        fmt::format("\"file\" is {} bytes, over the limit of {} bytes", file.content.size(),
                                    http.options().max_upload),
                        "file", "file_too_large");
  }

  OpenAiAnswer answer;
  answer.task = task;
  if (has_field(req, "response_format")) {
    answer.format = field(req, "response_format");
    if (answer.format != "json" && answer.format != "text" && answer.format != "srt" &&
        answer.format != "verbose_json" && answer.format != "vtt") {
      return openai_error(res, 400,
                          "unknown response_format '" + answer.format +
                              "' (expected json, text, srt, verbose_json or vtt)",
                          "response_format");
    }
  }
  if (has_field(req, "temperature") && !field(req, "temperature").empty()) {
    const std::string t = field(req, "temperature");
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(t.c_str(), &end);
    if (end == t.c_str() || *end != '\0' || errno != 0 || !(v >= 0 && v <= 1)) {
      return openai_error(res, 400, "temperature '" + t + "' is not a number from 0 to 1", "temperature");
    }
    answer.temperature = v;
  }
  // The official clients send the list as repeated "timestamp_granularities[]".
  std::vector<std::string> granularities;
  for (const char* name : {"timestamp_granularities[]", "timestamp_granularities"}) {
    auto [b, e] = req.files.equal_range(name);
    for (auto it = b; it != e; ++it) granularities.push_back(it->second.content);
  }
  if (!granularities.empty()) {
    answer.segments = false;
    for (const auto& g : granularities) {
      if (g == "word") {
        answer.words = true;
      } else if (g == "segment") {
        answer.segments = true;
      } else {
        return openai_error(res, 400, "unknown timestamp granularity '" + g + "' (expected word or segment)",
                            "timestamp_granularities[]");
      }
    }
    if (answer.format != "verbose_json") {
      return openai_error(res, 400, "timestamp_granularities[] needs response_format=verbose_json",
                          "timestamp_granularities[]");
    }
  }

  pipeline::TranscribeOptions options;
  options.engine = service.engine;
  const asr::EngineOptions& base = service.engine;
  if (has_field(req, "model")) {
    const std::string m = field(req, "model");
    if (!m.empty() && m != "whisper-1" && m != model_id(base)) {
      return openai_error(res, 400,
                          "model '" + m + "' is not served here (this server runs '" + model_id(base) +
                              "'; 'whisper-1' means the same)",
                          "model", "model_not_found");
    }
  }
  const std::string language = field(req, "language");
  if (!language.empty()) {
    bool ok = language.size() >= 2 && language.size() <= 3;
    for (char c : language) ok = ok && c >= 'a' && c <= 'z';
    if (!ok) return openai_error(res, 400, "language '" + language + "' is not an ISO-639-1 code such as 'en'", "language");
  }
  if (base.engine == "sphinx") {
    if (task == "translate") {
      return openai_error(res, 400,
                          "translation needs the whisper engine; this server runs sphinx (start it with "
                          "--engine whisper)",
                          "model", "unsupported_engine");
    }
    if (!language.empty() && language != "en") {
      return openai_error(res, 400, "language '" + language + "': the sphinx engine knows only English ('en')",
                          "language");
    }
    // Sphinx takes no prompt and no temperature: they do not change its words.
  } else {
    if (!language.empty()) options.engine.language = language;
    if (has_field(req, "prompt")) options.engine.initial_prompt = field(req, "prompt");
    options.engine.task = task;
  }
  // The shared pool's engines were made with the server's options; a
  // request that changes words (language, prompt, task) gets its own engine.
  const bool same_engine = options.engine.language == base.language &&
                           options.engine.initial_prompt == base.initial_prompt && options.engine.task == base.task;
  options.pool = same_engine ? http.pool() : nullptr;
  options.processes = false;
  if (options.pool == nullptr) options.workers = 1;

  // The upload, whole, under the data folder.
  std::error_code ec;
  const fs::path dir = fs::path(service.data_dir) / "uploads";
  fs::create_directories(dir, ec);
  const std::string name = random_name();
  const fs::path part = dir / (name + ".part");
  RemoveOnExit part_guard{part};
  const fs::path path = dir / (name + safe_extension(file.filename));
  {
    std::ofstream out(part, std::ios::binary);
    out.write(file.content.data(), static_cast<std::streamsize>(file.content.size()));
    out.close();
    if (!out) return openai_error(res, 500, "cannot write the upload under " + dir.string());
  }
  fs::rename(part, path, ec);
  if (ec) return openai_error(res, 500, "cannot write the upload under " + dir.string() + ": " + ec.message());
  RemoveOnExit guard{path};
  part_guard.path.clear();

  const std::string shown = file.filename.empty() ? std::string("the upload") : "'" + file.filename + "'";
  auto info = media::probe(path.string());
  if (!info.ok()) {
    return openai_error(res, 400,
                        "\"file\" (" + shown + ") is not audio or video that can be read: " +
                            replace_all(info.status().message(), path.string(), shown),
                        "file", "invalid_file");
  }
  if (info->audio() == nullptr) {
    return openai_error(res, 400, "\"file\" (" + shown + ") has no audio stream", "file", "invalid_file");
  }

  pipeline::LibraryOptions library;
  library.path = service.library_path;
  auto r = pipeline::transcribe_with_library({path.string()}, options, library);
  if (!r.ok()) {
    const std::string msg = replace_all(r.status().message(), path.string(), shown);
    switch (r.status().code()) {
      case Code::kBadMedia:
      case Code::kUnsupported:
      case Code::kCorrupt:
      case Code::kNotFound:
        return openai_error(res, 400, "\"file\" is not audio or video that can be read: " + msg, "file",
                            "invalid_file");
      case Code::kInvalidArgument: return openai_error(res, 400, msg);
      case Code::kCancelled: return openai_error(res, 503, "the server is stopping: " + msg);
      default: return openai_error(res, 500, msg);
    }
  }
  if (r->empty()) return openai_error(res, 500, "no transcript came back");
  std::string type;
  std::string body = render_openai(r->front(), answer, &type);
  res.status = 200;
  res.set_content(body, type.c_str());
}

}  // namespace

void openai_error(httplib::Response& res, int code, const std::string& message, const std::string& param,
                  const std::string& error_code) {
  nlohmann::json e = {{"message", message},
                      {"type", code >= 500 ? "server_error" : "invalid_request_error"},
                      {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                      {"code", error_code.empty() ? nlohmann::json(nullptr) : nlohmann::json(error_code)}};
  res.status = code;
  res.set_content(dump_json({{"error", e}}), "application/json");
}

std::string render_openai(const pipeline::InputTranscript& input, const OpenAiAnswer& answer,
                          std::string* content_type) {
  const asr::Transcript& t = input.transcript;
  if (answer.format == "text") {
    *content_type = "text/plain; charset=utf-8";
    return asr::to_txt(t);
  }
  if (answer.format == "srt") {
    *content_type = "application/x-subrip; charset=utf-8";
    return asr::to_srt(t);
  }
  if (answer.format == "vtt") {
    *content_type = "text/vtt; charset=utf-8";
    return asr::to_vtt(t);
  }
  *content_type = "application/json";
  const std::string text = join_text(t);
  if (answer.format == "json") return dump_json({{"text", text}});
  nlohmann::json body = {{"task", answer.task},
                         {"language", language_name(t.language.empty() ? "en" : t.language)},
                         {"duration", input.duration},
                         {"text", text}};
  if (answer.segments) {
    nlohmann::json segs = nlohmann::json::array();
    int id = 0;
    for (const auto& s : t.segments) {
      segs.push_back({{"id", id++},
                      {"seek", static_cast<long>(std::floor(s.start * 100))},
                      {"start", s.start},
                      {"end", s.end},
                      {"text", s.text},
                      {"tokens", nlohmann::json::array()},
                      {"temperature", answer.temperature},
                      {"avg_logprob", avg_logprob(s)},
                      {"compression_ratio", compression_ratio(s.text)},
                      {"no_speech_prob", s.words.empty() ? 1.0 : 0.0}});
    }
    body["segments"] = segs;
  }
  if (answer.words) {
    nlohmann::json words = nlohmann::json::array();
    for (const auto& w : t.words()) words.push_back({{"word", w.text}, {"start", w.start}, {"end", w.end}});
    body["words"] = words;
  }
  return dump_json(body);
}

void add_openai_routes(HttpService& http) {
  // Uploads left by a server that was killed mid-request: named after a
  // process that no longer runs.
  std::error_code ec;
  const fs::path uploads = fs::path(http.tasks()->options().data_dir) / "uploads";
  for (const auto& e : fs::directory_iterator(uploads, ec)) {
    const std::string name = e.path().filename().string();
    const long pid = std::strtol(name.c_str(), nullptr, 10);
    std::error_code ignored;
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH && e.is_regular_file(ignored)) {
      fs::remove(e.path(), ignored);
    }
  }
  HttpService* h = &http;
  http.post("/v1/audio/transcriptions", "/v1/audio/transcriptions",
            [h](const httplib::Request& req, httplib::Response& res) { handle_audio(*h, req, res, "transcribe"); });
  http.post("/v1/audio/translations", "/v1/audio/translations",
            [h](const httplib::Request& req, httplib::Response& res) { handle_audio(*h, req, res, "translate"); });
  const auto started = static_cast<long>(std::time(nullptr));
  http.get("/v1/models", "/v1/models", [h, started](const httplib::Request&, httplib::Response& res) {
    const asr::EngineOptions& e = h->tasks()->options().engine;
    HttpService::json(res, {{"object", "list"},
                            {"data", nlohmann::json::array({{{"id", model_id(e)},
                                                             {"object", "model"},
                                                             {"created", started},
                                                             {"owned_by", "studioflow"},
                                                             {"engine", e.engine}}})}});
  });
}

}  // namespace sf::server
