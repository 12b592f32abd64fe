#include "asr/sphinx/sphinx_engine.h"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <filesystem>
#include <mutex>

#include "core/log.h"

namespace sf::asr::sphinx {
namespace {

// PocketSphinx logs a lot at startup; route it to our debug level.
void sphinx_log(void* /*user*/, err_lvl_t level, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::string_view text(buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return;
  if (level >= ERR_ERROR) {
    SF_LOG_WARN("pocketsphinx: {}", text);
  } else {
    SF_LOG_TRACE("pocketsphinx: {}", text);
  }
}

// Drops "(2)" alternate-pronunciation suffixes; false for fillers/silence.
bool clean_word(std::string_view w, std::string* out) {
  if (w.empty() || w.front() == '<' || w.front() == '[' || w.front() == '+') return false;
  auto paren = w.find('(');
  if (paren != std::string_view::npos && paren > 0) w = w.substr(0, paren);
  *out = std::string(w);
  return !out->empty();
}

class SphinxEngine final : public Engine {
 public:
  SphinxEngine(ps_decoder_t* ps, cmd_ln_t* config) : ps_(ps), config_(config) {}
  ~SphinxEngine() override {
    ps_free(ps_);
    cmd_ln_free_r(config_);
  }

  std::string name() const override { return "sphinx"; }

  Result<Transcript> transcribe(std::span<const float> audio, double time_offset) override {
    Transcript t;
    t.language = "en";
    if (audio.empty()) return t;
    const int frate = cmd_ln_int32_r(config_, "-frate");
    std::vector<int16_t> pcm(audio.size());
    for (size_t i = 0; i < audio.size(); ++i) {
      float v = std::clamp(audio[i], -1.0f, 1.0f);
      pcm[i] = static_cast<int16_t>(std::lrint(v * 32767.0f));
    }
    if (ps_start_utt(ps_) < 0) return internal_error("pocketsphinx: cannot start an utterance");
    if (ps_process_raw(ps_, pcm.data(), pcm.size(), FALSE, TRUE) < 0) {
      ps_end_utt(ps_);
      return internal_error("pocketsphinx: decoding failed");
    }
    if (ps_end_utt(ps_) < 0) return internal_error("pocketsphinx: cannot end the utterance");

    Segment seg;
    logmath_t* lmath = ps_get_logmath(ps_);
    for (ps_seg_t* it = ps_seg_iter(ps_); it != nullptr; it = ps_seg_next(it)) {
      std::string text;
      if (!clean_word(ps_seg_word(it), &text)) continue;
      int sf = 0, ef = 0;
      ps_seg_frames(it, &sf, &ef);
      int32 ascr = 0, lscr = 0, lback = 0;
      int32 post = ps_seg_prob(it, &ascr, &lscr, &lback);
      double p = logmath_exp(lmath, post);
      Word w;
      w.text = std::move(text);
      w.start = time_offset + static_cast<double>(sf) / frate;
      w.end = time_offset + static_cast<double>(ef + 1) / frate;
      w.probability = static_cast<float>(std::clamp(p, 0.0, 1.0));
      seg.words.push_back(std::move(w));
    }
    if (!seg.words.empty()) {
      seg.start = seg.words.front().start;
      seg.end = seg.words.back().end;
      for (const auto& w : seg.words) {
        if (!seg.text.empty()) seg.text += ' ';
        seg.text += w.text;
      }
      t.segments.push_back(std::move(seg));
    }
    return t;
  }

 private:
  ps_decoder_t* ps_;
  cmd_ln_t* config_;
};

// PocketSphinx keeps its logging in process globals: the callback, the log
// FILE* that `-logfn` would fclose and replace on every decoder made, the
// debug level. Logging is routed once per process to our logger (never a
// `-logfn`), and decoders are made one at a time: configuration parsing
// and model loading touch those globals too, so engines made on several
// threads at once never race on them.
std::mutex& creation_mutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] {
    err_set_logfp(nullptr);
    err_set_callback(sphinx_log, nullptr);
  });

  namespace fs = std::filesystem;
  fs::path dir = options.model.empty() ? fs::path(SF_SPHINX_MODELDIR) / "en-us" : fs::path(options.model);
  fs::path hmm = dir / "en-us", lm = dir / "en-us.lm.bin", dict = dir / "cmudict-en-us.dict";
  for (const auto& p : {hmm, lm, dict}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      return not_found("PocketSphinx model file " + p.string() +
                       " is missing (install pocketsphinx-en-us, or pass --model DIR)");
    }
  }
  std::lock_guard lock(creation_mutex());
  cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(),
                                 "-dict", dict.c_str(),
                                 // Keep every frame so word times count from the segment start.
                                 "-remove_silence", "no",
                                 // Spectral noise subtraction keeps a running noise estimate from one
                                 // utterance to the next, so a segment's words would depend on which
                                 // segments the same instance decoded before. Without it a segment's
                                 // transcript is a function of its audio alone, whatever the worker
                                 // count, the worker process or a retry (and the library's copy).
                                 "-remove_noise", "no", nullptr);
  if (config == nullptr) return internal_error("pocketsphinx: invalid configuration");
  ps_decoder_t* ps = ps_init(config);
  if (ps == nullptr) {
    cmd_ln_free_r(config);
    return corrupt("pocketsphinx: cannot load the model in " + dir.string());
  }
  return std::unique_ptr<Engine>(new SphinxEngine(ps, config));
}

}  // namespace sf::asr::sphinx
