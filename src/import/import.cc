#include "import/import.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "asr/formats.h"
#include "core/cancel.h"
#include "core/files.h"
#include "core/json.h"
#include "core/log.h"
#include "import/manifest.h"
#include "media/encoder_ladder.h"
#include "media/probe.h"
#include "media/render.h"
#include "store/fingerprint.h"

namespace sf::import {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One source as found and identified.
struct Source {
  std::string path;  // absolute
  std::string name;  // relative output name without extension
  std::string ext;   // the source's extension (with the dot), for the normalized copy
  media::MediaInfo info;
  store::Fingerprint fp;
  int64_t mtime_ns = 0;
};

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

bool inside(const fs::path& p, const fs::path& dir) {
  auto rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

// Every candidate file: (absolute path, name relative to the argument).
struct Candidate {
  std::string path, name;
};

Status discover(const ImportRequest& r, const fs::path& project, std::vector<Candidate>* out) {
  std::set<std::string> seen;
  for (const std::string& arg : r.sources) {
    std::error_code ec;
    fs::path p = fs::absolute(arg, ec).lexically_normal();
    auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) return not_found(arg + ": no such file or folder");
    if (p == project || inside(p, project)) {
      return invalid_argument(arg + ": is inside the project folder " + project.string() +
                              " (what an import writes is never imported again)");
    }
    if (fs::is_regular_file(st)) {
      if (seen.insert(p.string()).second) out->push_back({p.string(), p.filename().string()});
      continue;
    }
    if (!fs::is_directory(st)) return invalid_argument(arg + ": not a file or folder");
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) return permission_denied(arg + ": cannot list the folder (" + ec.message() + ")");
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      const fs::path& f = it->path();
      const std::string base = f.filename().string();
      if (!base.empty() && base[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (f == project || inside(f, project)) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) files.push_back(f);
    }
    std::sort(files.begin(), files.end());
    const std::string prefix = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
    for (const fs::path& f : files) {
      if (seen.insert(f.string()).second) {
        out->push_back({f.string(), (fs::path(prefix) / f.lexically_relative(p)).string()});
      }
    }
  }
  return {};
}

// Output names without extension, unique case-insensitively.
void assign_names(std::vector<Source>* sources) {
  std::set<std::string> taken;
  for (Source& s : *sources) {
    fs::path n(s.name);
    std::string stem = (n.parent_path() / n.stem()).string();
    std::string candidate = stem;
    auto lower = [](std::string x) {
      std::transform(x.begin(), x.end(), x.begin(), [](unsigned char c) { return std::tolower(c); });
      return x;
    };
    for (int k = 2; taken.count(lower(candidate)); ++k) candidate = stem + "-" + std::to_string(k);
    taken.insert(lower(candidate));
    s.name = candidate;
  }
}

// The project-folder lock: one import at a time.
class ProjectLock {
 public:
  static Result<ProjectLock> take(const std::string& project) {
    const std::string path = project + "/.studioflow-import.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return output_error(project + ": cannot write in the project folder");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status(Code::kUnavailable, project + ": another import is running into this project folder");
    }
    return ProjectLock(fd);
  }
  ProjectLock(ProjectLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ProjectLock(const ProjectLock&) = delete;
  ~ProjectLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit ProjectLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Temporary files of a run that was killed (their writer is gone: the lock
// is ours) are removed.
void remove_stale_temporaries(const fs::path& project) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(project, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string base = it->path().filename().string();
    if (it->is_regular_file() && base.size() > 1 && base[0] == '.' && base.find(".partial-") != std::string::npos) {
      SF_LOG_INFO("import: removing {} (left by an interrupted run)", it->path().string());
      fs::remove(it->path(), ec);
    }
  }
}

nlohmann::json loudness_json(const media::Loudness& l) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(std::round(v * 100) / 100) : nlohmann::json(); };
  return {{"integrated", num(l.integrated)}, {"range", num(l.range)}, {"true_peak", num(l.true_peak)}};
}

uint64_t bytes_of(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// A product recorded for this fingerprint with these options whose files
// are all still there with their recorded sizes.
bool still_valid(const nlohmann::json& rec, const std::string& options, const fs::path& project) {
  if (!rec.is_object() || rec.value("options", "") != options) return false;
  if (!rec.contains("files") || !rec["files"].is_array()) return false;
  for (const auto& f : rec["files"]) {
    const uint64_t want = f.value("bytes", uint64_t{0});
    if (want == 0 || bytes_of(project / f.value("path", "")) != want) return false;
  }
  return true;
}

nlohmann::json file_entry(const fs::path& project, const std::string& rel) {
  return {{"path", rel}, {"bytes", bytes_of(project / rel)}};
}

std::string format_db(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

// Shared state of one run.
class Run {
 public:
  Run(const ImportRequest& r, Manifest* m, fs::path project, const ImportProgressFn& p)
      : req_(r), manifest_(m), project_(std::move(project)), progress_(p) {}

  void set_totals(int n, int p, int t) {
    std::lock_guard lock(mu_);
    prog_.normalize.total = n;
    prog_.proxy.total = p;
    prog_.transcript.total = t;
    report();
  }
  void stage(StageProgress ImportProgress::*s, int running, int done) {
    std::lock_guard lock(mu_);
    (prog_.*s).running += running;
    (prog_.*s).done += done;
    report();
  }
  void audio(double done, double total) {
    std::lock_guard lock(mu_);
    prog_.audio_done = done;
    prog_.audio_total = total;
    report();
  }

  const ImportRequest& req_;
  Manifest* manifest_;
  fs::path project_;

 private:
  void report() {
    if (progress_) progress_(prog_);
  }
  std::mutex mu_;
  ImportProgress prog_;
  const ImportProgressFn& progress_;
};

std::string normalize_options(const ImportRequest& r) {
  return "loudness=" + format_db(r.loudness.target) + ";true_peak=" + format_db(r.loudness.true_peak) + ";v=1";
}

std::string proxy_options(const ImportRequest& r, int w, int h, int gop) {
  return r.proxy_codec + ";" + std::to_string(w) + "x" + std::to_string(h) + ";gop=" + std::to_string(gop) +
         ";encoder=" + (r.cpu_only ? "libx264" : r.encoder) + ";v=1";
}

std::string transcript_options(const ImportRequest& r, const std::string& fingerprint) {
  const store::TranscriptKey k = pipeline::transcript_key(fingerprint, r.transcribe);
  // The library is part of it: importing into another library stores the
  // transcript there too.
  return k.engine + ";" + k.model + ";" + k.options + ";library=" + (r.library.enabled ? r.library.path : "none");
}

void do_normalize(Run& run, const Source& s, FileResult* out) {
  const auto t0 = Clock::now();
  const std::string rel = (fs::path("normalized") / (s.name + s.ext)).string();
  const fs::path dst = run.project_ / rel;
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  media::NormalizeOptions o = run.req_.loudness;
  o.cancel = run.req_.cancel;
  auto r = media::normalize_loudness(s.path, dst.string(), o);
  out->normalized.seconds = since(t0);
  if (!r.ok()) {
    if (r.status().code() == Code::kCancelled) return;
    out->normalized.state = ProductState::kFailed;
    out->normalized.note = r.status().message();
    return;
  }
  nlohmann::json streams = nlohmann::json::array();
  std::string notes;
  for (const auto& st : r->streams) {
    nlohmann::json j = {{"stream", st.index}, {"before", loudness_json(st.before)}, {"after", loudness_json(st.after)},
                        {"gain_db", std::round(st.gain_db * 100) / 100}, {"limited", st.limited},
                        {"codec", st.codec}};
    if (!st.note.empty()) {
      j["note"] = st.note;
      notes += (notes.empty() ? "" : "; ") + st.note;
    }
    streams.push_back(j);
  }
  nlohmann::json rec = {{"options", normalize_options(run.req_)},
                        {"files", nlohmann::json::array({file_entry(run.project_, rel)})},
                        {"streams", streams}};
  if (Status st = run.manifest_->set_product(s.path, "normalized", rec); !st.ok()) {
    SF_LOG_WARN("import: {}", st.message());
  }
  out->normalized.state = ProductState::kDone;
  out->normalized.files = {rel};
  out->normalized.details = rec;
  out->normalized.note = notes;
}

void do_proxy(Run& run, const Source& s, FileResult* out) {
  const auto t0 = Clock::now();
  const media::StreamInfo* v = s.info.video();
  auto dims = proxy_dimensions(run.req_.proxy_size, v->display_width, v->display_height);
  const double fps = v->fps > 0 ? v->fps : 25;
  const int gop = std::max(1, static_cast<int>(std::lround(fps / 2)));
  const bool edit = run.req_.proxy_codec != "h264";
  const std::string rel = (fs::path("proxies") / (s.name + (edit ? ".proxy.mov" : ".proxy.mp4"))).string();
  const fs::path dst = run.project_ / rel;
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  media::RenderOptions ro;
  ro.width = dims->first;
  ro.height = dims->second;
  ro.fps = fps;
  ro.encoder = run.req_.encoder;
  ro.cpu_only = run.req_.cpu_only;
  ro.gop_size = gop;
  ro.fade = 0;
  ro.cancel = run.req_.cancel;
  ro.timecode = s.info.timecode;  // so an editor can relink the proxy to its source
  if (edit) ro.edit_codec = run.req_.proxy_codec;
  auto r = media::render({{s.path, 0.0, s.info.duration}}, dst.string(), ro);
  out->proxy.seconds = since(t0);
  if (!r.ok()) {
    if (r.status().code() == Code::kCancelled) return;
    out->proxy.state = ProductState::kFailed;
    out->proxy.note = r.status().message();
    return;
  }
  nlohmann::json rec = {{"options", proxy_options(run.req_, dims->first, dims->second, gop)},
                        {"files", nlohmann::json::array({file_entry(run.project_, rel)})},
                        {"width", r->width},
                        {"height", r->height},
                        {"fps", r->fps},
                        {"frames", r->frames},
                        {"duration", r->duration},
                        {"encoder", r->encoder},
                        {"gop", gop}};
  if (Status st = run.manifest_->set_product(s.path, "proxy", rec); !st.ok()) SF_LOG_WARN("import: {}", st.message());
  out->proxy.state = ProductState::kDone;
  out->proxy.files = {rel};
  out->proxy.details = rec;
}

// Runs `work` over `items` on up to `jobs` threads.
template <typename F>
void parallel_for(size_t items, int jobs, const F& work) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(jobs, static_cast<int>(items)));
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < items; i = next++) work(i);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

std::string_view product_state_name(ProductState s) {
  switch (s) {
    case ProductState::kPending: return "pending";
    case ProductState::kDone: return "done";
    case ProductState::kReused: return "reused";
    case ProductState::kSkipped: return "skipped";
    case ProductState::kFailed: return "failed";
  }
  return "?";
}

int ImportReport::failed() const {
  int n = 0;
  for (const auto& f : files) {
    n += !f.error.empty();
    for (const ProductResult* p : {&f.normalized, &f.proxy, &f.transcript}) n += p->state == ProductState::kFailed;
  }
  return n;
}

nlohmann::json ImportReport::to_json() const {
  auto product = [](const ProductResult& p) {
    nlohmann::json j = {{"state", product_state_name(p.state)}, {"files", p.files},
                        {"seconds", std::round(p.seconds * 1000) / 1000}};
    if (!p.note.empty()) j["note"] = p.note;
    if (!p.details.is_null()) {
      for (auto it = p.details.begin(); it != p.details.end(); ++it) {
        if (it.key() != "files" && it.key() != "options") j[it.key()] = it.value();
      }
    }
    return j;
  };
  nlohmann::json files_j = nlohmann::json::array();
  for (const auto& f : files) {
    nlohmann::json j = {{"source", f.source},  {"name", f.name},
                        {"fingerprint", f.fingerprint}, {"duration", f.duration},
                        {"normalized", product(f.normalized)}, {"proxy", product(f.proxy)},
                        {"transcript", product(f.transcript)}};
    if (!f.error.empty()) j["error"] = f.error;
    files_j.push_back(j);
  }
  return {{"project", project}, {"files", files_j},   {"not_media", not_media},
          {"failed", failed()}, {"cancelled", cancelled}, {"seconds", std::round(seconds * 1000) / 1000}};
}

Result<std::pair<int, int>> proxy_dimensions(const std::string& spec, int width, int height) {
  if (width <= 0 || height <= 0) return invalid_argument("--proxy-size: the source has no picture size");
  auto even = [](double v) { return std::max(16, static_cast<int>(std::lround(v / 2)) * 2); };
  double w = 0, h = 0;
  int a = 0, b = 0;
  char tail = 0;
  if (spec == "half" || spec.empty()) {
    w = width / 2.0, h = height / 2.0;
  } else if (spec == "quarter") {
    w = width / 4.0, h = height / 4.0;
  } else if (std::sscanf(spec.c_str(), "%dx%d%c", &a, &b, &tail) == 2 && a >= 16 && b >= 16 && a <= 8192 && b <= 8192) {
    w = a, h = b;
  } else if (std::sscanf(spec.c_str(), "%dp%c", &a, &tail) == 1 && a >= 16 && a <= 8192 && spec.back() == 'p') {
    h = a, w = static_cast<double>(a) * width / height;
  } else {
    return invalid_argument("--proxy-size '" + spec + "': use half, quarter, WIDTHxHEIGHT or HEIGHTp (e.g. 540p)");
  }
  if (w > width || h > height) w = width, h = height;
  return std::pair<int, int>{even(w), even(h)};
}

Result<ImportReport> run_import(const ImportRequest& r, const ImportProgressFn& progress) {
  const auto t0 = Clock::now();
  if (r.sources.empty()) return invalid_argument("no sources given: pass files or folders to import");
  if (r.project.empty()) return invalid_argument("no project folder given: pass --to PROJECT_DIR");
  if (!(r.loudness.target <= -5 && r.loudness.target >= -70)) {
    return invalid_argument("--loudness " + format_db(r.loudness.target) + ": must be in -70..-5 LUFS");
  }
  if (!(r.loudness.true_peak <= 0 && r.loudness.true_peak >= -20)) {
    return invalid_argument("--true-peak " + format_db(r.loudness.true_peak) + ": must be in -20..0 dBTP");
  }
  if (r.normalize_jobs < 1 || r.proxy_jobs < 1) return invalid_argument("job counts must be at least 1");
  if (auto d = proxy_dimensions(r.proxy_size, 1920, 1080); !d.ok()) return d.status();
  if (r.proxy_codec != "h264") {
    if (auto e = media::edit_encoder(r.proxy_codec); !e.ok()) {
      if (e.status().code() == Code::kInvalidArgument) {
        return invalid_argument("--proxy-codec '" + r.proxy_codec + "': use h264, prores or dnxhr");
      }
      return e.status().with_context("--proxy-codec");
    }
  }
  std::error_code ec;
  fs::path project = fs::absolute(r.project, ec).lexically_normal();
  std::vector<Candidate> candidates;
  SF_RETURN_IF_ERROR(discover(r, project, &candidates));
  fs::create_directories(project, ec);
  if (!fs::is_directory(project)) return output_error(r.project + ": cannot create the project folder");
  SF_ASSIGN_OR_RETURN(ProjectLock lock, ProjectLock::take(project.string()));
  remove_stale_temporaries(project);
  SF_ASSIGN_OR_RETURN(Manifest manifest, Manifest::open(project.string()));


  ImportReport report;
  report.project = project.string();
  std::vector<Source> sources;
  // A source that cannot be read: reported, nothing made of it.
  auto unreadable = [&report](const Candidate& c, const Status& why) {
    FileResult fr;
    fr.source = c.path;
    fr.name = c.name;
    fr.error = why.message();
    report.files.push_back(std::move(fr));
  };
  for (const Candidate& c : candidates) {
    if (stop_requested(r.cancel)) break;
    if (r.skip && r.skip(c.path)) continue;
    struct stat st {};
    if (::stat(c.path.c_str(), &st) != 0) continue;
    Source s;
    s.path = c.path;
    s.name = c.name;
    s.ext = media::normalized_extension(c.path);
    s.mtime_ns = mtime_ns(st);
    auto info = media::probe(c.path);
    if (!info.ok()) {
      if (info.status().code() == Code::kBadMedia) {
        ++report.not_media;
        SF_LOG_DEBUG("import: {} is not media", c.path);
      } else {
        unreadable(c, info.status());
      }
      continue;
    }
    if (!info->video() && !info->audio()) {
      ++report.not_media;
      continue;
    }
    s.info = std::move(info).value();
    // The fingerprint is reused while size and modification time match.
    const nlohmann::json known = manifest.source(s.path);
    if (known.is_object() && known.value("size", uint64_t{0}) == static_cast<uint64_t>(st.st_size) &&
        known.value("mtime_ns", int64_t{0}) == s.mtime_ns && known.contains("fingerprint")) {
      s.fp.hex = known["fingerprint"];
      s.fp.size = static_cast<uint64_t>(st.st_size);
    } else {
      auto fp = store::fingerprint_file(s.path, s.info.duration);
      if (!fp.ok()) {
        unreadable(c, fp.status());
        continue;
      }
      s.fp = *fp;
    }
    sources.push_back(std::move(s));
  }
  assign_names(&sources);

  const size_t first = report.files.size();
  std::vector<size_t> normalize_list, proxy_list, transcript_list;
  for (size_t i = 0; i < sources.size(); ++i) {
    Source& s = sources[i];
    FileResult fr;
    fr.source = s.path;
    fr.name = s.name;
    fr.fingerprint = s.fp.hex;
    fr.duration = s.info.duration;
    fr.has_video = s.info.video() != nullptr;
    fr.has_audio = s.info.audio() != nullptr;
    nlohmann::json identity = {{"fingerprint", s.fp.hex}, {"size", s.fp.size},  {"mtime_ns", s.mtime_ns},
                               {"duration", s.info.duration}, {"name", s.name}};
    SF_RETURN_IF_ERROR(manifest.set_source(s.path, identity));
    auto decide = [&](bool wanted, bool possible, const char* why_not, const char* product, const std::string& opts,
                      ProductResult* pr, std::vector<size_t>* list) {
      if (!wanted) {
        pr->state = ProductState::kSkipped;
        pr->note = "not asked for";
      } else if (!possible) {
        pr->state = ProductState::kSkipped;
        pr->note = why_not;
      } else if (nlohmann::json rec = manifest.product(s.path, product); still_valid(rec, opts, project)) {
        pr->state = ProductState::kReused;
        for (const auto& f : rec["files"]) pr->files.push_back(f["path"]);
        pr->details = rec;
      } else {
        list->push_back(i);
      }
    };
    decide(r.normalize, fr.has_audio, "no audio", "normalized", normalize_options(r), &fr.normalized,
           &normalize_list);
    std::string popts;
    if (fr.has_video) {
      const auto* v = s.info.video();
      auto d = proxy_dimensions(r.proxy_size, v->display_width, v->display_height);
      const double fps = v->fps > 0 ? v->fps : 25;
      if (d.ok()) popts = proxy_options(r, d->first, d->second, std::max(1, static_cast<int>(std::lround(fps / 2))));
    }
    decide(r.proxy, fr.has_video && !popts.empty(), "no video", "proxy", popts, &fr.proxy, &proxy_list);
    decide(r.transcript, fr.has_audio, "no audio", "transcript", transcript_options(r, s.fp.hex), &fr.transcript, &transcript_list);
    report.files.push_back(std::move(fr));
  }

  Run run(r, &manifest, project, progress);
  run.set_totals(static_cast<int>(normalize_list.size()), static_cast<int>(proxy_list.size()),
                 static_cast<int>(transcript_list.size()));
  auto result_of = [&](size_t i) { return &report.files[first + i]; };

  std::thread normalizer([&] {
    parallel_for(normalize_list.size(), r.normalize_jobs, [&](size_t k) {
      if (stop_requested(r.cancel)) return;
      const size_t i = normalize_list[k];
      run.stage(&ImportProgress::normalize, 1, 0);
      do_normalize(run, sources[i], result_of(i));
      run.stage(&ImportProgress::normalize, -1, 1);
    });
  });
  std::thread proxier([&] {
    parallel_for(proxy_list.size(), r.proxy_jobs, [&](size_t k) {
      if (stop_requested(r.cancel)) return;
      const size_t i = proxy_list[k];
      run.stage(&ImportProgress::proxy, 1, 0);
      do_proxy(run, sources[i], result_of(i));
      run.stage(&ImportProgress::proxy, -1, 1);
    });
  });
  // Transcription: one pipeline over every file that needs it (the worker
  // pool decides how many segments run at once); each file's sidecars and
  // manifest record are written as soon as it is complete.
  Status transcript_status;
  if (!transcript_list.empty()) {
    std::vector<std::string> paths;
    for (size_t i : transcript_list) paths.push_back(sources[i].path);
    pipeline::TranscribeOptions to = r.transcribe;
    to.cancel = r.cancel;
    auto started = Clock::now();
    run.stage(&ImportProgress::transcript, 1, 0);
    to.input_done = [&](size_t k, const pipeline::InputTranscript& t) {
      const size_t i = transcript_list[k];
      const Source& s = sources[i];
      FileResult* out = result_of(i);
      const std::string base = (fs::path("proxies") / s.name).string();
      std::error_code e;
      fs::create_directories((project / base).parent_path(), e);
      const std::string srt = base + ".srt", json = base + ".json";
      Status st = write_file_atomic((project / srt).string(), asr::to_srt(t.transcript));
      if (st.ok()) st = write_file_atomic((project / json).string(), dump_json(asr::to_json(t.transcript), 1) + "\n");
      out->transcript.seconds = since(started);
      started = Clock::now();
      if (!st.ok()) {
        out->transcript.state = ProductState::kFailed;
        out->transcript.note = st.message();
      } else {
        size_t words = 0;
        for (const auto& seg : t.transcript.segments) words += seg.words.size();
        nlohmann::json rec = {{"options", transcript_options(r, s.fp.hex)},
                              {"files", nlohmann::json::array({file_entry(project, srt), file_entry(project, json)})},
                              {"words", words},
                              {"language", t.transcript.language}};
        if (Status ms = manifest.set_product(s.path, "transcript", rec); !ms.ok()) {
          SF_LOG_WARN("import: {}", ms.message());
        }
        out->transcript.state = ProductState::kDone;
        out->transcript.files = {srt, json};
        out->transcript.details = rec;
      }
      run.stage(&ImportProgress::transcript, 0, 1);
    };
    auto res = pipeline::transcribe_with_library(paths, to, r.library,
                                                 [&](double done, double total) { run.audio(done, total); });
    run.stage(&ImportProgress::transcript, -1, 0);
    if (!res.ok() && res.status().code() != Code::kCancelled) transcript_status = res.status();
  }
  normalizer.join();
  proxier.join();
  if (!transcript_status.ok()) {
    for (size_t i : transcript_list) {
      FileResult* out = result_of(i);
      if (out->transcript.state == ProductState::kPending) {
        out->transcript.state = ProductState::kFailed;
        out->transcript.note = transcript_status.message();
      }
    }
  }
  report.cancelled = stop_requested(r.cancel);
  report.seconds = since(t0);
  if (Status st = write_file_atomic((project / "import-report.json").string(), dump_json(report.to_json(), 2) + "\n");
      !st.ok()) {
    SF_LOG_WARN("import: {}", st.message());
  }
  return report;
}

}  // namespace sf::import
