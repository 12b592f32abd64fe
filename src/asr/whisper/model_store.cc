#include "asr/whisper/model_store.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "core/log.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool looks_complete(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec) && fs::is_regular_file(dir / "model.safetensors", ec);
}

// Removes a temporary folder unless released.
class TempFolder {
 public:
  explicit TempFolder(fs::path p) : path_(std::move(p)) {}
  ~TempFolder() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

}  // namespace

fs::path default_models_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "studioflow" / "models";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : ".") / ".cache" / "studioflow" / "models";
}

Result<std::string> resolve_model(const std::string& value) {
  if (value.empty()) return invalid_argument("no Whisper model given (--model)");
  std::error_code ec;
  const fs::path p(value);
  if (fs::is_directory(p, ec) || fs::is_regular_file(p, ec)) return p.string();
  std::vector<std::string> tried = {p.string()};
  if (valid_name(value)) {
    for (const std::string& name : {value, "whisper-" + value}) {
      const fs::path pulled = default_models_dir() / name;
      if (fs::is_directory(pulled, ec)) return pulled.string();
      tried.push_back(pulled.string());
    }
  }
  std::string msg = "Whisper model '" + value + "' not found; tried";
  for (size_t i = 0; i < tried.size(); ++i) msg += (i ? ", " : " ") + tried[i];
  if (valid_name(value)) msg += " (fetch it with: studioflow model pull " + value + ")";
  return not_found(msg);
}

Result<fs::path> pull_model(const std::string& name, const fs::path& dir, const PullOptions& options) {
  if (!valid_name(name))
    return invalid_argument("model name '" + name + "' is not valid (expected e.g. tiny, base.en, large-v3)");
  const fs::path dest = dir.empty() ? default_models_dir() / name : dir;
  if (looks_complete(dest)) {
    SF_LOG_INFO("model pull: {} is already in {}", name, dest.string());
    return dest;
  }
  std::error_code ec;
  if (fs::exists(dest, ec)) return invalid_argument(dest.string() + " exists but does not hold a complete model");

  std::string endpoint = options.endpoint;
  if (endpoint.empty()) {
    const char* env = std::getenv("HF_ENDPOINT");
    endpoint = env != nullptr && *env != '\0' ? env : "https://huggingface.co";
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string repo = "openai/whisper-" + name;

  fs::create_directories(dest.parent_path().empty() ? fs::path(".") : dest.parent_path(), ec);
  if (ec) return permission_denied("cannot create " + dest.parent_path().string() + ": " + ec.message());
  TempFolder tmp(dest.parent_path() / ("." + dest.filename().string() + ".partial-" + std::to_string(::getpid())));
  fs::remove_all(tmp.path(), ec);
  fs::create_directories(tmp.path(), ec);
  if (ec) return permission_denied("cannot create " + tmp.path().string() + ": " + ec.message());

  httplib::Client client(endpoint);
  if (!client.is_valid()) return invalid_argument("hub address '" + endpoint + "' is not usable");
  client.set_connection_timeout(options.connect_timeout_s, 0);
  client.set_read_timeout(options.read_timeout_s, 0);
  client.set_follow_location(true);

  // Returns 200, 404, or an error status.
  auto fetch = [&](const std::string& file, bool* missing) -> Status {
    *missing = false;
    const fs::path target = tmp.path() / file;
    std::ofstream out(target, std::ios::binary);
    if (!out) return permission_denied("cannot write " + target.string());
    int status = 0;
    auto res = client.Get(
        "/" + repo + "/resolve/main/" + file,
        [&](const httplib::Response& r) {
          status = r.status;
          return r.status == 200 || (r.status >= 300 && r.status < 400);
        },
        [&](const char* data, size_t len) {
          out.write(data, static_cast<std::streamsize>(len));
          return static_cast<bool>(out);
        });
    if (!res) {
      if (status == 404 || status == 401) {
        *missing = true;
        return {};
      }
      if (status != 0) return unavailable(endpoint + ": HTTP " + std::to_string(status) + " for " + repo + "/" + file);
      return unavailable("cannot reach " + endpoint + " to fetch " + repo + " (" + httplib::to_string(res.error()) +
                         "); is there a network connection?");
    }
    if (res->status == 404 || res->status == 401) {
      *missing = true;
      return {};
    }
    if (res->status != 200)
      return unavailable(endpoint + ": HTTP " + std::to_string(res->status) + " for " + repo + "/" + file);
    out.close();
    if (!out) return permission_denied("cannot write " + target.string());
    SF_LOG_INFO("model pull: {} ({} bytes)", file, fs::file_size(target, ec));
    return {};
  };

  bool missing = false;
  SF_RETURN_IF_ERROR(fetch("config.json", &missing));
  if (missing) return not_found(endpoint + " has no model " + repo);
  SF_RETURN_IF_ERROR(fetch("model.safetensors", &missing));
  if (missing) return not_found(repo + " has no model.safetensors");
  bool have_tokenizer = false;
  for (const char* f : {"tokenizer.json", "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json",
                        "special_tokens_map.json", "tokenizer_config.json", "preprocessor_config.json",
                        "normalizer.json"}) {
    SF_RETURN_IF_ERROR(fetch(f, &missing));
    if (missing) {
      fs::remove(tmp.path() / f, ec);
    } else if (std::string(f) == "tokenizer.json" || std::string(f) == "merges.txt") {
      have_tokenizer = true;
    }
  }
  if (!have_tokenizer) return not_found(repo + " has no tokenizer files");
  fs::rename(tmp.path(), dest, ec);
  if (ec) return permission_denied("cannot move the model into " + dest.string() + ": " + ec.message());
  tmp.release();
  return dest;
}

}  // namespace sf::asr::whisper
