#include "asr/sphinx/sphinx_engine.h"

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/ngram_model.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <set>
#include <sstream>

#include "asr/sphinx/adapt.h"
#include "asr/sphinx/denoise.h"
#include "asr/sphinx/letter_to_sound.h"
#include "asr/sphinx/phone_durations.h"
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

// The name of the keyword-spotting search next to the language-model one.
constexpr const char* kSpotSearch = "targets";
// The name of the language-model search biased towards the targets.
constexpr const char* kBiasedSearch = "biased";
// Share of the biased search's word probability, at every place, that goes
// to the target words (spread evenly over them); the rest is the normal
// language model's.
constexpr float kBiasWeight = 0.3f;
// Seconds of audio on either side of a spotted place that the biased
// decode hears with it, for the language model's context.
constexpr double kBiasContext = 1.5;
// Spotted places scoring below this per phone are not decoded again: on
// the recall bench no right candidate scoring lower gained a biased
// posterior, and on clean speech the spotter's many weak guesses would
// make the second decode as long as the first.
constexpr float kBiasSpotFloor = -36.0f;

// Scores of PocketSphinx's searches are scaled down by this many bits from
// the log base of its logmath (SENSCR_SHIFT).
constexpr int kScoreShift = 10;

// Lattice words of a target below this posterior are not candidates by
// themselves (they may still support a spotted hit).
constexpr float kLatticeCandidate = 0.15f;

std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A lattice word that is one of the targets' tokens.
struct LatticeWord {
  std::string word;
  int sf = 0, ef = 0;  // frames, inclusive
  double posterior = 0;
};

// Posterior of `token` over frames [sf, ef]: the sum over lattice words of
// that token that overlap it by at least half of the shorter of the two.
double token_posterior(const std::vector<LatticeWord>& lattice, const std::string& token, int sf, int ef) {
  double p = 0;
  for (const auto& w : lattice) {
    if (w.word != token) continue;
    const int overlap = std::min(ef, w.ef) - std::max(sf, w.sf) + 1;
    const int shorter = std::min(ef - sf, w.ef - w.sf) + 1;
    if (overlap > 0 && 2 * overlap >= shorter) p += w.posterior;
  }
  return std::min(1.0, p);
}

// Writes `text` to a temporary file (named after `name`), hands its path
// to `read`, and removes it: for the PocketSphinx calls that read their
// input from a file only.
template <typename Read>
Status through_file(std::string_view name, const std::string& text, Read read) {
  namespace fs = std::filesystem;
  static std::atomic<int> serial{0};
  std::error_code ec;
  const fs::path file = fs::temp_directory_path(ec) / ("studioflow-" + std::to_string(::getpid()) + "-" +
                                                       std::to_string(serial++) + "-" + std::string(name));
  FILE* f = std::fopen(file.c_str(), "w");
  if (f == nullptr) return internal_error("cannot write the temporary file " + file.string());
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (written && closed) read(file.c_str());
  fs::remove(file, ec);
  if (!written || !closed) return internal_error("cannot write the temporary file " + file.string());
  return {};
}

class SphinxEngine final : public Engine {
 public:
  SphinxEngine(ps_decoder_t* ps, cmd_ln_t* config, std::map<std::string, double> phone_seconds,
               std::shared_ptr<const ModelGaussians> gaussians)
      : ps_(ps), config_(config), lm_search_(ps_get_search(ps)), phone_seconds_(std::move(phone_seconds)),
        gaussians_(std::move(gaussians)) {}
  ~SphinxEngine() override {
    ps_free(ps_);
    cmd_ln_free_r(config_);
  }

  std::string name() const override { return "sphinx"; }

  Status set_targets(const std::vector<std::string>& targets) override {
    if (targets == requested_) return {};
    requested_ = targets;
    targets_.clear();
    std::string keys;
    for (const auto& phrase : targets) {
      Target t;
      t.query = phrase;
      t.tokens = split_spaces(phrase);
      bool ok = !t.tokens.empty();
      std::vector<std::string> phones;
      for (const auto& token : t.tokens) {
        std::vector<std::string> p = phones_of(token);
        if (p.empty()) {
          ok = false;
          if (warned_.insert(token).second) {
            SF_LOG_WARN("cannot pronounce '{}' (not in the dictionary, no letter-to-sound rule fits): "
                        "\"{}\" is searched in the transcript only",
                        token, phrase);
          }
          break;
        }
        phones.insert(phones.end(), p.begin(), p.end());
      }
      if (!ok) continue;
      t.phones = static_cast<int>(phones.size());
      t.expected_seconds = expected_seconds(phones);
      // Per-phrase threshold: the spotter's score adds up over the phrase's
      // phones, so a longer phrase is let through at a lower score.
      char line[512];
      std::snprintf(line, sizeof(line), "%s /1e-%d/\n", phrase.c_str(),
                    std::clamp(kSpotThresholdPerPhone * t.phones, 10, 300));
      keys += line;
      targets_.push_back(std::move(t));
    }
    if (targets_.empty()) return {};
    // ps_set_kws reads its key phrases from a file only.
    int rc = -1;
    Status written = through_file("targets.txt", keys, [&](const char* file) { rc = ps_set_kws(ps_, kSpotSearch, file); });
    if (!written.ok()) {
      targets_.clear();
      return written;
    }
    if (rc < 0) {
      targets_.clear();
      return internal_error("pocketsphinx: cannot set up the search for the target words");
    }
    return set_biased_search();
  }

  Result<Transcript> transcribe(std::span<const float> audio, double time_offset) override {
    Transcript t;
    t.language = "en";
    if (audio.empty()) return t;
    const int frate = cmd_ln_int32_r(config_, "-frate");
    // Steady noise is taken out first (denoise.h); clean audio passes as is.
    NoiseLevels noise;
    const std::vector<float> heard = denoise(audio, {}, &noise);
    std::vector<int16_t> pcm(heard.size());
    for (size_t i = 0; i < heard.size(); ++i) {
      float v = std::clamp(heard[i], -1.0f, 1.0f);
      pcm[i] = static_cast<int16_t>(std::lrint(v * 32767.0f));
    }
    // The model is fitted to noisy audio (adapt.h); clean audio hears it as is.
    SF_RETURN_IF_ERROR(adapt(noise, audio.size(), pcm));
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
    if (!targets_.empty()) SF_RETURN_IF_ERROR(search_targets(pcm, time_offset, frate, &t));
    // Each hit carries the noise of the audio it was heard in; where none
    // could be measured it keeps TargetHit::kCleanSnrDb.
    if (noise.snr_db < TargetHit::kCleanSnrDb) {
      for (auto& h : t.hits) {
        h.snr_db = static_cast<float>(noise.snr_db);
        h.noise_spread_db = static_cast<float>(noise.spread_db);
      }
    }
    return t;
  }

 private:
  // Per-phrase spotting threshold, in decades per phone (1e-(k*phones)):
  // low on purpose; the spotter proposes, fusion (search/fusion.h) decides.
  static constexpr int kSpotThresholdPerPhone = 8;

  struct Target {
    std::string query;
    std::vector<std::string> tokens;
    int phones = 0;
    double expected_seconds = 0;  // 0 when a phone's length is unknown
  };

  // The features PocketSphinx computes from `pcm` (its own front end and
  // feature computation, as a whole utterance): frames x the streams'
  // dimensions, concatenated. Empty when they cannot be computed.
  std::vector<std::vector<float>> features(const std::vector<int16_t>& pcm) {
    std::vector<std::vector<float>> out;
    fe_t* fe = ps_get_fe(ps_);
    feat_t* fcb = ps_get_feat(ps_);
    if (fe == nullptr || fcb == nullptr || pcm.empty()) return out;
    fe_start_utt(fe);
    const int16* at = pcm.data();
    size_t left = pcm.size();
    int32 frames = 0;
    if (fe_process_frames(fe, &at, &left, nullptr, &frames, nullptr) < 0 || frames <= 0) return out;
    const int ncep = fe_get_output_size(fe);
    mfcc_t** cep = static_cast<mfcc_t**>(ckd_calloc_2d(frames + 2, ncep, sizeof(mfcc_t)));
    int32 made = frames + 1;
    int32 last = 0;
    if (fe_process_frames(fe, &at, &left, cep, &made, nullptr) < 0 || fe_end_utt(fe, cep[made], &last) < 0) {
      ckd_free_2d(cep);
      return out;
    }
    made += last;
    mfcc_t*** feat = feat_array_alloc(fcb, made + feat_window_size(fcb));
    int32 consumed = made;
    const int32 n = feat_s2mfc2feat_live(fcb, cep, &consumed, TRUE, TRUE, feat);
    const int streams = feat_dimension1(fcb);
    for (int32 f = 0; f < n; ++f) {
      std::vector<float> row;
      for (int s = 0; s < streams; ++s) {
        const int len = feat_dimension2(fcb, s);
        row.insert(row.end(), feat[f][s], feat[f][s] + len);
      }
      out.push_back(std::move(row));
    }
    feat_array_free(feat);
    ckd_free_2d(cep);
    return out;
  }

  // Fits the acoustic model to the audio of `samples` samples whose noise
  // levels are `noise` (as heard: `pcm`) when fit_model_to() says so
  // (adapt.h); puts the model back as it was for other audio.
  Status adapt(const NoiseLevels& noise, size_t samples, const std::vector<int16_t>& pcm) {
    if (gaussians_ == nullptr) return {};
    const bool noisy = fit_model_to(noise);
    SF_LOG_DEBUG("sphinx: {:.1f} s of audio, SNR {:.1f} dB, noise spread {:.1f} dB: heard through the model {}",
                 static_cast<double>(samples) / kSampleRate, noise.snr_db, noise.spread_db,
                 noisy ? "fitted to it" : "as it is");
    if (!noisy && !adapted_) return {};
    const MllrTransform t = estimate_mllr(*gaussians_, noisy ? features(pcm) : std::vector<std::vector<float>>{});
    ps_mllr_t* mllr = nullptr;
    SF_RETURN_IF_ERROR(
        through_file("adapt.mllr", mllr_file_text(t), [&](const char* file) { mllr = ps_mllr_read(file); }));
    if (mllr == nullptr) return internal_error("pocketsphinx: cannot read the transform that fits the model");
    // The decoder keeps the transform and frees it with the next one.
    ps_update_mllr(ps_, mllr);
    adapted_ = noisy;
    return {};
  }

  // Phones of `word` in the dictionary; a word it lacks gets a
  // pronunciation from letter-to-sound rules, added to the decoder's
  // dictionary. Empty when it cannot be pronounced.
  std::vector<std::string> phones_of(const std::string& word) {
    char* phones = ps_lookup_word(ps_, word.c_str());
    if (phones == nullptr) {
      std::optional<std::string> guess = letter_to_sound(word);
      if (!guess || ps_add_word(ps_, word.c_str(), guess->c_str(), TRUE) < 0) return {};
      SF_LOG_INFO("'{}' is not in the dictionary: pronounced /{}/ by letter-to-sound rules", word, *guess);
      phones = ps_lookup_word(ps_, word.c_str());
      if (phones == nullptr) return {};
    }
    std::vector<std::string> list = split_spaces(phones);
    ckd_free(phones);
    return list;
  }

  // How long the acoustic model expects `phones` to last; 0 (unknown) when
  // it has no length for one of them.
  double expected_seconds(const std::vector<std::string>& phones) const {
    double sum = 0;
    for (const auto& p : phones) {
      auto d = phone_seconds_.find(p);
      if (d == phone_seconds_.end()) return 0;
      sum += d->second;
    }
    return sum;
  }

  // The biased search (kBiasedSearch): the normal language model
  // interpolated with a unigram model of the target words, which have
  // kBiasWeight of the probability at every place between them.
  Status set_biased_search() {
    biased_ = false;
    std::set<std::string> tokens;
    for (const auto& t : targets_) tokens.insert(t.tokens.begin(), t.tokens.end());
    std::string arpa = "\\data\\\nngram 1=" + std::to_string(tokens.size() + 2) +
                       "\n\n\\1-grams:\n-99 <s>\n-99 </s>\n";
    char logp[32];
    std::snprintf(logp, sizeof(logp), "%.6f", -std::log10(static_cast<double>(tokens.size())));
    for (const auto& token : tokens) arpa += std::string(logp) + " " + token + "\n";
    arpa += "\n\\end\\\n";
    // sphinxbase reads a model from a file only.
    ngram_model_t* targets = nullptr;
    SF_RETURN_IF_ERROR(through_file("targets.arpa", arpa, [&](const char* file) {
      targets = ngram_model_read(config_, file, NGRAM_ARPA, ps_get_logmath(ps_));
    }));
    ngram_model_t* normal = ps_get_lm(ps_, lm_search_.c_str());
    if (targets == nullptr || normal == nullptr) {
      if (targets != nullptr) ngram_model_free(targets);
      return internal_error("pocketsphinx: cannot make the language model biased towards the target words");
    }
    // The set frees its models with itself; the normal one stays the
    // normal search's too.
    ngram_model_retain(normal);
    ngram_model_t* models[2] = {normal, targets};
    char normal_name[] = "normal", targets_name[] = "targets";
    char* names[2] = {normal_name, targets_name};
    const float32 weights[2] = {1.0f - kBiasWeight, kBiasWeight};
    ngram_model_t* set = ngram_model_set_init(config_, models, names, weights, 2);
    if (set == nullptr) {
      ngram_model_free(normal);
      ngram_model_free(targets);
      return internal_error("pocketsphinx: cannot make the language model biased towards the target words");
    }
    const int rc = ps_set_lm(ps_, kBiasedSearch, set);
    // Drop our reference once the decoder holds its own: whether ps_set_lm
    // retains the model differs between PocketSphinx versions.
    ngram_model_retain(set);
    if (ngram_model_free(set) > 1) ngram_model_free(set);
    if (rc < 0) return internal_error("pocketsphinx: cannot set up the search biased towards the target words");
    biased_ = true;
    return {};
  }

  // Lattice words of the targets' tokens, with their posteriors, from the
  // utterance just decoded by `search`; frames shifted by `frame_offset`.
  void lattice_words(const char* search, const std::set<std::string>& tokens, int frame_offset,
                     std::vector<LatticeWord>* out) {
    logmath_t* lmath = ps_get_logmath(ps_);
    // The hypothesis first: it finishes the search the lattice is read from.
    int32 score = 0;
    (void)ps_get_hyp(ps_, &score);
    ps_lattice_t* dag = ps_get_lattice(ps_);
    if (dag == nullptr) return;
    const double ascale = 1.0 / cmd_ln_float32_r(config_, "-ascale");
    ps_lattice_posterior(dag, ps_get_lm(ps_, search), static_cast<float32>(ascale));
    for (ps_latnode_iter_t* ni = ps_latnode_iter(dag); ni != nullptr; ni = ps_latnode_iter_next(ni)) {
      ps_latnode_t* node = ps_latnode_iter_node(ni);
      std::string word;
      if (!clean_word(ps_latnode_baseword(dag, node), &word) || tokens.count(word) == 0) continue;
      int16 fef = 0, lef = 0;
      const int sf = ps_latnode_times(node, &fef, &lef);
      double post = 0;
      for (ps_latlink_iter_t* li = ps_latnode_exits(node); li != nullptr; li = ps_latlink_iter_next(li)) {
        int32 ascr = 0;
        post += logmath_exp(lmath, ps_latlink_prob(dag, ps_latlink_iter_link(li), &ascr));
      }
      if (post > 1e-4) {
        out->push_back({word, frame_offset + sf, frame_offset + std::max<int>(sf, (fef + lef) / 2), std::min(1.0, post)});
      }
    }
  }

  // The targeted pass over the audio just decoded: word posteriors of the
  // targets from the normal decode's lattice, then the keyword spotter.
  Status search_targets(const std::vector<int16_t>& pcm, double time_offset, int frate, Transcript* t) {
    std::set<std::string> tokens;
    for (const auto& target : targets_) tokens.insert(target.tokens.begin(), target.tokens.end());
    std::vector<LatticeWord> lattice, biased;
    lattice_words(lm_search_.c_str(), tokens, 0, &lattice);
    auto to_time = [&](int frame) { return time_offset + static_cast<double>(frame) / frate; };
    auto posterior_in = [](const std::vector<LatticeWord>& words, const Target& target, int sf, int ef) {
      double p = 1;
      for (const auto& token : target.tokens) p = std::min(p, token_posterior(words, token, sf, ef));
      return p;
    };
    std::map<std::string, const Target*> by_query;
    for (const auto& target : targets_) by_query[target.query] = &target;

    // The keyword spotter over the same audio.
    struct Spotted {
      const Target* target;
      int sf, ef;
      float score;
    };
    std::vector<Spotted> spotted;
    if (ps_set_search(ps_, kSpotSearch) < 0) return internal_error("pocketsphinx: cannot switch to the target search");
    Status st;
    ps_start_stream(ps_);
    if (ps_start_utt(ps_) < 0 || ps_process_raw(ps_, pcm.data(), pcm.size(), FALSE, TRUE) < 0 ||
        ps_end_utt(ps_) < 0) {
      st = internal_error("pocketsphinx: the target search failed");
    } else {
      logmath_t* lmath = ps_get_logmath(ps_);
      for (ps_seg_t* it = ps_seg_iter(ps_); it != nullptr; it = ps_seg_next(it)) {
        // The spotter names a detection by its key phrase, with a trailing space.
        std::string phrase = ps_seg_word(it);
        while (!phrase.empty() && phrase.back() == ' ') phrase.pop_back();
        auto found = by_query.find(phrase);
        if (found == by_query.end()) continue;
        int sf = 0, ef = 0;
        ps_seg_frames(it, &sf, &ef);
        int32 ascr = 0, lscr = 0, lback = 0;
        const int32 score = ps_seg_prob(it, &ascr, &lscr, &lback);
        spotted.push_back({found->second, sf, ef,
                           static_cast<float>(logmath_log_to_ln(lmath, score) * (1 << kScoreShift) /
                                              std::max(1, found->second->phones))});
      }
    }

    // The biased decode, over the spotted places with kBiasContext around
    // them (overlapping windows are one).
    if (st.ok() && biased_ && !spotted.empty()) {
      const int frames = static_cast<int>(pcm.size() * static_cast<size_t>(frate) / kSampleRate);
      const int context = static_cast<int>(std::lround(kBiasContext * frate));
      // Nor are places where the one-best transcript already has the
      // target's first word: the biased decode could only agree.
      auto in_one_best = [&](const Spotted& h) {
        for (const auto& seg : t->segments) {
          for (const auto& w : seg.words) {
            if (w.text == h.target->tokens.front() && to_time(h.sf) <= w.end && w.start <= to_time(h.ef + 1)) {
              return true;
            }
          }
        }
        return false;
      };
      std::vector<std::pair<int, int>> windows;
      for (const auto& h : spotted) {
        if (h.score < kBiasSpotFloor || in_one_best(h)) continue;
        windows.emplace_back(std::max(0, h.sf - context), std::min(frames, h.ef + 1 + context));
      }
      std::sort(windows.begin(), windows.end());
      std::vector<std::pair<int, int>> merged;
      for (const auto& w : windows) {
        if (!merged.empty() && w.first <= merged.back().second) {
          merged.back().second = std::max(merged.back().second, w.second);
        } else {
          merged.push_back(w);
        }
      }
      if (ps_set_search(ps_, kBiasedSearch) < 0) {
        st = internal_error("pocketsphinx: cannot switch to the biased search");
      } else {
        const size_t per_frame = kSampleRate / static_cast<size_t>(frate);
        for (const auto& [from, to] : merged) {
          const size_t first = static_cast<size_t>(from) * per_frame;
          const size_t count = std::min(pcm.size(), static_cast<size_t>(to) * per_frame) - std::min(pcm.size(), first);
          if (count == 0) continue;
          ps_start_stream(ps_);
          if (ps_start_utt(ps_) < 0 || ps_process_raw(ps_, pcm.data() + first, count, FALSE, TRUE) < 0 ||
              ps_end_utt(ps_) < 0) {
            st = internal_error("pocketsphinx: the biased search failed");
            break;
          }
          lattice_words(kBiasedSearch, tokens, from, &biased);
        }
      }
    }
    if (ps_set_search(ps_, lm_search_.c_str()) < 0 && st.ok()) {
      st = internal_error("pocketsphinx: cannot switch back to the language model");
    }
    if (!st.ok()) return st;

    // Lattice-only candidates: single-word targets either lattice believes in.
    for (const auto& target : targets_) {
      if (target.tokens.size() != 1) continue;
      std::vector<const LatticeWord*> words;
      for (const auto* from : {&lattice, &biased}) {
        for (const auto& w : *from) {
          if (w.word == target.tokens[0]) words.push_back(&w);
        }
      }
      std::sort(words.begin(), words.end(), [](auto* a, auto* b) { return a->sf < b->sf; });
      // Alternatives of one word at nearby frames are one candidate.
      for (size_t i = 0; i < words.size();) {
        int sf = words[i]->sf, ef = words[i]->ef;
        size_t j = i + 1;
        while (j < words.size() && words[j]->sf <= ef) ef = std::max(ef, words[j++]->ef);
        const double p = posterior_in(lattice, target, sf, ef);
        const double b = posterior_in(biased, target, sf, ef);
        if (std::max(p, b) >= kLatticeCandidate) {
          TargetHit h;
          h.query = target.query;
          h.start = to_time(sf);
          h.end = to_time(ef + 1);
          h.phones = target.phones;
          h.expected_seconds = static_cast<float>(target.expected_seconds);
          h.posterior = static_cast<float>(p);
          h.biased_posterior = static_cast<float>(b);
          t->hits.push_back(std::move(h));
        }
        i = j;
      }
    }
    for (const auto& s : spotted) {
      TargetHit h;
      h.query = s.target->query;
      h.start = to_time(s.sf);
      h.end = to_time(s.ef + 1);
      h.phones = s.target->phones;
      h.spotted = true;
      h.spot_score = s.score;
      h.expected_seconds = static_cast<float>(s.target->expected_seconds);
      h.posterior = static_cast<float>(posterior_in(lattice, *s.target, s.sf, s.ef));
      h.biased_posterior = static_cast<float>(posterior_in(biased, *s.target, s.sf, s.ef));
      t->hits.push_back(std::move(h));
    }
    std::stable_sort(t->hits.begin(), t->hits.end(), [](const TargetHit& a, const TargetHit& b) {
      return a.start < b.start;
    });
    return {};
  }

  ps_decoder_t* ps_;
  cmd_ln_t* config_;
  std::string lm_search_;  // the normal language-model search's name
  // The length the acoustic model expects of each phone (phone_durations.h).
  std::map<std::string, double> phone_seconds_;
  // The model's Gaussians, for fitting it to noisy audio (adapt.h); null
  // when they could not be read (the model is then used as it is).
  std::shared_ptr<const ModelGaussians> gaussians_;
  bool adapted_ = false;   // whether the model is fitted to the last audio
  bool biased_ = false;    // whether kBiasedSearch is set up for targets_
  std::vector<std::string> requested_;  // as last given to set_targets()
  std::vector<Target> targets_;         // those the spotter searches for
  std::set<std::string> warned_;        // words already named in a warning
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

// How long the model in `hmm` expects each phone to last, at `frate`
// frames a second: a spotter detection is judged against it
// (search/fusion.h). Read once per process and model; call under
// creation_mutex(). A model whose files this cannot read (a text model
// definition) gets none, with a warning: its detections are judged by a
// fixed length a phone instead.
const std::map<std::string, double>& model_phone_seconds(const std::filesystem::path& hmm, int frate) {
  static std::map<std::pair<std::string, int>, std::map<std::string, double>> cache;
  auto [it, added] = cache.try_emplace({hmm.string(), frate});
  if (added) {
    auto read = expected_phone_seconds(hmm, frate);
    if (read.ok()) {
      it->second = std::move(*read);
    } else {
      SF_LOG_WARN("{}; targeted search judges detections by a fixed length a phone", read.status().message());
    }
  }
  return it->second;
}

// The Gaussians of the model in `hmm` (adapt.h), read once per process and
// model; call under creation_mutex(). Null, with a warning, when they
// cannot be read, and for a model with more than kMostGaussians a stream:
// noisy audio is then heard through the model as it is.
std::shared_ptr<const ModelGaussians> model_gaussians(const std::filesystem::path& hmm, float var_floor) {
  // The fit weighs every Gaussian for every frame: affordable for a
  // phonetically tied model (the embedded one has 5,376 a stream), not for
  // a large continuous one.
  constexpr int kMostGaussians = 32768;
  static std::map<std::string, std::shared_ptr<const ModelGaussians>> cache;
  auto [it, added] = cache.try_emplace(hmm.string());
  if (added) {
    auto read = read_model_gaussians(hmm, var_floor);
    if (!read.ok()) {
      SF_LOG_WARN("{}; noisy audio is heard through the model as it is", read.status().message());
    } else if (!read->streams.empty() && read->streams.front().count > kMostGaussians) {
      SF_LOG_INFO("the model in {} has {} Gaussians a stream, too many to fit to each noisy segment: "
                  "noisy audio is heard through the model as it is",
                  hmm.string(), read->streams.front().count);
    } else {
      it->second = std::make_shared<const ModelGaussians>(std::move(*read));
    }
  }
  return it->second;
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
  const std::map<std::string, double>& phone_seconds = model_phone_seconds(hmm, cmd_ln_int32_r(config, "-frate"));
  ps_decoder_t* ps = ps_init(config);
  if (ps == nullptr) {
    cmd_ln_free_r(config);
    return corrupt("pocketsphinx: cannot load the model in " + dir.string());
  }
  auto engine = std::unique_ptr<Engine>(
      new SphinxEngine(ps, config, phone_seconds, model_gaussians(hmm, cmd_ln_float32_r(config, "-varfloor"))));
  if (!options.target_words.empty()) SF_RETURN_IF_ERROR(engine->set_targets(options.target_words));
  return engine;
}

}  // namespace sf::asr::sphinx
