#include "asr/whisper/decoder.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "core/log.h"

namespace sf::asr::whisper {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void log_softmax(std::span<const float> logits, std::vector<float>* out) {
  float mx = kNegInf;
  for (float v : logits) mx = std::max(mx, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  out->resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) (*out)[i] = logits[i] - lse;
}

int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Whisper's "non-speech" symbols: tokens that spell only punctuation-like
// marks, which the model tends to emit for music and noise.
std::vector<int> non_speech_tokens(const Tokenizer& tok) {
  std::vector<std::string> symbols;
  for (char c : std::string_view("\"#()*+/:;<=>@[\\]^_`{|}~")) symbols.emplace_back(1, c);
  for (const char* s : {"「", "」", "『", "』", "<<", ">>", "<<<", ">>>", "--", "---", "-(", "-[",
                        "('", "(\"", "((", "))", "(((", ")))", "[[", "]]", "{{", "}}", "♪♪", "♪♪♪"})
    symbols.emplace_back(s);
  const std::vector<std::string> misc = {"♩", "♪", "♫", "♬", "♭", "♮", "♯"};
  std::set<int> result;
  // Without merges (ggml vocabularies) a text is one token exactly when a
  // token spells it; otherwise its first token is taken as its first byte.
  auto tokens_of = [&](const std::string& text) -> std::vector<int> {
    if (tok.can_encode()) {
      auto ids = tok.encode(text);
      return ids.ok() ? *ids : std::vector<int>{};
    }
    if (int id = tok.piece_id(text); id >= 0) return {id};
    if (text[0] == ' ') return {};  // never the bare space token
    int first = tok.piece_id(text.substr(0, 1));
    return first >= 0 ? std::vector<int>{first, first} : std::vector<int>{};
  };
  for (const char* s : {" -", " '"}) {
    auto ids = tokens_of(s);
    if (!ids.empty()) result.insert(ids.front());
  }
  auto consider = [&](const std::string& sym, bool always) {
    for (const std::string& text : {sym, " " + sym}) {
      auto ids = tokens_of(text);
      if (ids.empty()) continue;
      if (ids.size() == 1 || always) result.insert(ids.front());
    }
  };
  for (const auto& s : symbols) consider(s, false);
  for (const auto& s : misc) consider(s, true);
  return {result.begin(), result.end()};
}

struct Hyp {
  std::vector<int> tokens;
  std::vector<float> probs;
  double sum_logprob = 0;
  int slot = 0;
};

}  // namespace

double compression_ratio(std::string_view text) {
  if (text.empty()) return 0;
  uLongf cap = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> buf(cap);
  if (compress2(buf.data(), &cap, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION) != Z_OK || cap == 0)
    return 0;
  return static_cast<double>(text.size()) / static_cast<double>(cap);
}

Result<Decoder> Decoder::create(const Tokenizer& tokenizer, DecodeOptions options, int n_vocab,
                                int n_text_ctx) {
  Decoder d;
  d.tok_ = &tokenizer;
  const SpecialTokens& sp = tokenizer.special();
  if (n_vocab <= sp.timestamp_begin)
    return invalid_argument("model vocabulary (" + std::to_string(n_vocab) +
                            " tokens) is smaller than the tokenizer's special tokens");
  if (n_text_ctx < 8) return invalid_argument("model text context is too short");
  if (options.task != "transcribe" && options.task != "translate")
    return invalid_argument("unknown task '" + options.task + "' (expected transcribe or translate)");
  if (options.beam_size < 1) return invalid_argument("beam size must be at least 1");
  if (options.temperatures.empty()) options.temperatures = {0.0f};
  d.n_vocab_ = n_vocab;
  d.n_text_ctx_ = n_text_ctx;
  d.task_token_ = options.task == "translate" ? sp.translate : sp.transcribe;
  if (tokenizer.multilingual()) {
    if (!options.language.empty()) {
      d.forced_language_ = tokenizer.language_id(options.language);
      if (d.forced_language_ < 0)
        return invalid_argument("unknown language '" + options.language + "' for this model");
    }
  } else if (options.task == "translate") {
    return invalid_argument("this model is English-only and cannot translate");
  } else if (!options.language.empty() && options.language != "en") {
    return invalid_argument("this model is English-only; language '" + options.language +
                            "' is not available");
  }
  if (options.sample_len <= 0) options.sample_len = n_text_ctx / 2;
  if (const size_t a = options.hotwords.find_first_not_of(" \t\r\n"); a != std::string::npos) {
    if (!tokenizer.can_encode()) {
      return unsupported("whisper: hotwords need a tokenizer with merges (this model's vocabulary can only decode)");
    }
    const size_t b = options.hotwords.find_last_not_of(" \t\r\n");
    SF_ASSIGN_OR_RETURN(d.hotword_tokens_, tokenizer.encode(" " + options.hotwords.substr(a, b - a + 1)));
    const size_t most = static_cast<size_t>(std::max(1, n_text_ctx / 4));
    if (d.hotword_tokens_.size() > most) d.hotword_tokens_.resize(most);
  }

  std::set<int> sup(options.suppress_tokens.begin(), options.suppress_tokens.end());
  if (options.suppress_tokens.empty() && options.suppress_non_speech) {
    for (int t : non_speech_tokens(tokenizer)) sup.insert(t);
  }
  for (int t : {sp.translate, sp.transcribe, sp.sot, sp.start_of_prev, sp.start_of_lm, sp.no_speech})
    sup.insert(t);
  for (int t : sup)
    if (t >= 0 && t < n_vocab) d.suppress_.push_back(t);

  std::vector<int> begin = options.begin_suppress_tokens;
  if (begin.empty()) {
    int space = tokenizer.piece_id(" ");
    if (space >= 0) begin.push_back(space);
    begin.push_back(sp.eot);
  }
  for (int t : begin)
    if (t >= 0 && t < n_vocab) d.begin_suppress_.push_back(t);
  d.options_ = std::move(options);
  return d;
}

std::vector<int> Decoder::sot_sequence(int language_token) const {
  std::vector<int> seq = {tok_->special().sot};
  if (tok_->multilingual()) {
    seq.push_back(language_token >= 0 ? language_token : tok_->language_id("en"));
    seq.push_back(task_token_);
  }
  return seq;
}

std::vector<int> Decoder::initial_tokens(const WindowRequest& r) const {
  std::vector<int> out;
  if (!r.prompt.empty() || !hotword_tokens_.empty()) {
    out.push_back(tok_->special().start_of_prev);
    // The hotwords first, then as much of the previous text as still fits
    // in half the context.
    out.insert(out.end(), hotword_tokens_.begin(), hotword_tokens_.end());
    const size_t half = static_cast<size_t>(n_text_ctx_ / 2 - 1);
    const size_t keep = half > hotword_tokens_.size() ? half - hotword_tokens_.size() : 0;
    size_t from = r.prompt.size() > keep ? r.prompt.size() - keep : 0;
    out.insert(out.end(), r.prompt.begin() + static_cast<std::ptrdiff_t>(from), r.prompt.end());
  }
  for (int t : sot_sequence(r.language_token)) out.push_back(t);
  if (!options_.timestamps) out.push_back(tok_->special().no_timestamps);
  return out;
}

void Decoder::apply_filters(std::span<const int> sampled, std::span<float> logits) const {
  const int n = static_cast<int>(logits.size());
  if (sampled.empty()) {
    for (int t : begin_suppress_) logits[static_cast<size_t>(t)] = kNegInf;
  }
  for (int t : suppress_) logits[static_cast<size_t>(t)] = kNegInf;
  if (!options_.timestamps) return;

  const SpecialTokens& sp = tok_->special();
  const int ts0 = sp.timestamp_begin;
  const int eot = sp.eot;
  auto fill = [&](int from, int to) {
    for (int i = std::max(from, 0); i < std::min(to, n); ++i) logits[static_cast<size_t>(i)] = kNegInf;
  };
  if (sp.no_timestamps >= 0 && sp.no_timestamps < n) logits[static_cast<size_t>(sp.no_timestamps)] = kNegInf;

  const size_t len = sampled.size();
  const bool last_ts = len >= 1 && sampled[len - 1] >= ts0;
  const bool penultimate_ts = len < 2 || sampled[len - 2] >= ts0;
  if (last_ts) {
    if (penultimate_ts) {
      fill(ts0, n);  // a pair is closed: text must follow
    } else {
      fill(0, eot);  // an open timestamp: another timestamp or eot
    }
  }
  int last_timestamp = -1;
  for (int t : sampled)
    if (t >= ts0) last_timestamp = t;
  if (last_timestamp >= 0) {
    // Timestamps never decrease; a new segment starts strictly later.
    const int floor = (last_ts && !penultimate_ts) ? last_timestamp : last_timestamp + 1;
    fill(ts0, floor);
  }
  if (len == 0) {
    fill(0, ts0);
    if (options_.max_initial_timestamp_index >= 0) fill(ts0 + options_.max_initial_timestamp_index + 1, n);
  }
  // When the timestamps together are likelier than any single text token,
  // a timestamp must come.
  std::vector<float> lp;
  log_softmax(logits, &lp);
  float mx = kNegInf;
  for (int i = ts0; i < n; ++i) mx = std::max(mx, lp[static_cast<size_t>(i)]);
  double ts_sum = 0;
  if (mx > kNegInf) {
    for (int i = ts0; i < n; ++i) ts_sum += std::exp(static_cast<double>(lp[static_cast<size_t>(i)] - mx));
  }
  const double ts_logprob = mx > kNegInf ? mx + std::log(ts_sum) : -std::numeric_limits<double>::infinity();
  float max_text = kNegInf;
  for (int i = 0; i < std::min(ts0, n); ++i) max_text = std::max(max_text, lp[static_cast<size_t>(i)]);
  if (ts_logprob > max_text) fill(0, ts0);
}

Result<int> Decoder::detect_language(DecoderBackend& backend, int window, int slot,
                                     std::vector<float>* probs) const {
  const SpecialTokens& sp = tok_->special();
  if (!tok_->multilingual() || sp.n_languages <= 0) return tok_->language_id("en");
  const int32_t sot = sp.sot;
  DecodeStep step{window, slot, std::span<const int32_t>(&sot, 1), 0};
  std::vector<float> logits;
  SF_RETURN_IF_ERROR(backend.decode({&step, 1}, &logits));
  std::span<const float> lang(logits.data() + sp.first_language, static_cast<size_t>(sp.n_languages));
  if (probs != nullptr) {
    std::vector<float> lp;
    log_softmax(lang, &lp);
    probs->resize(lp.size());
    for (size_t i = 0; i < lp.size(); ++i) (*probs)[i] = std::exp(lp[i]);
  }
  return sp.first_language + argmax(lang);
}

Result<std::vector<WindowResult>> Decoder::decode(DecoderBackend& backend,
                                                  std::span<const WindowRequest> requests,
                                                  float temperature, uint64_t seed) const {
  const size_t nr = requests.size();
  const int beam = temperature > 0 ? 1 : options_.beam_size;
  const int spw = slots_per_window();
  if (static_cast<int>(nr) * spw > backend.kv_slots())
    return invalid_argument("decoder needs " + std::to_string(nr * static_cast<size_t>(spw)) +
                            " KV slots, the backend has " + std::to_string(backend.kv_slots()));
  const SpecialTokens& sp = tok_->special();
  const int eot = sp.eot;
  const size_t nv = static_cast<size_t>(n_vocab_);
  std::vector<WindowResult> results(nr);
  std::mt19937_64 rng(seed);

  // The prompt and start-of-transcript sequence, in two parts so that the
  // logits at <|startoftranscript|> give the no-speech probability.
  std::vector<std::vector<int>> init(nr);
  std::vector<size_t> sot_end(nr);
  std::vector<int> n_past(nr, 0);
  std::vector<DecodeStep> steps;
  std::vector<float> logits;
  for (size_t r = 0; r < nr; ++r) {
    init[r] = initial_tokens(requests[r]);
    if (static_cast<int>(init[r].size()) >= n_text_ctx_) return invalid_argument("prompt longer than the text context");
    sot_end[r] = static_cast<size_t>(std::find(init[r].begin(), init[r].end(), sp.sot) - init[r].begin()) + 1;
    steps.push_back({requests[r].window, static_cast<int>(r) * spw,
                     std::span<const int32_t>(init[r].data(), sot_end[r]), 0});
  }
  SF_RETURN_IF_ERROR(backend.decode(steps, &logits));
  std::vector<std::vector<float>> cur(nr);
  std::vector<float> lp;
  for (size_t r = 0; r < nr; ++r) {
    cur[r].assign(logits.begin() + static_cast<std::ptrdiff_t>(r * nv),
                  logits.begin() + static_cast<std::ptrdiff_t>((r + 1) * nv));
    log_softmax(cur[r], &lp);
    results[r].no_speech_prob = sp.no_speech >= 0 ? std::exp(lp[static_cast<size_t>(sp.no_speech)]) : 0.0;
    n_past[r] = static_cast<int>(sot_end[r]);
  }
  steps.clear();
  std::vector<size_t> rest_of;
  for (size_t r = 0; r < nr; ++r) {
    if (sot_end[r] < init[r].size()) {
      steps.push_back({requests[r].window, static_cast<int>(r) * spw,
                       std::span<const int32_t>(init[r].data() + sot_end[r], init[r].size() - sot_end[r]),
                       n_past[r]});
      rest_of.push_back(r);
    }
  }
  if (!steps.empty()) {
    SF_RETURN_IF_ERROR(backend.decode(steps, &logits));
    for (size_t k = 0; k < rest_of.size(); ++k) {
      size_t r = rest_of[k];
      cur[r].assign(logits.begin() + static_cast<std::ptrdiff_t>(k * nv),
                    logits.begin() + static_cast<std::ptrdiff_t>((k + 1) * nv));
      n_past[r] = static_cast<int>(init[r].size());
    }
  }

  const int sample_len = options_.sample_len;
  const size_t max_candidates =
      static_cast<size_t>(std::max(1L, std::lround(static_cast<double>(beam) * options_.patience)));
  // Beam state per request: live hypotheses (each with its own logits) and
  // finished sequences with their scores.
  std::vector<std::vector<Hyp>> live(nr);
  std::vector<std::vector<std::vector<float>>> live_logits(nr);
  std::vector<std::vector<Hyp>> finished(nr);
  std::vector<bool> done(nr, false);
  std::vector<int> parity(nr, 0);
  for (size_t r = 0; r < nr; ++r) {
    Hyp h;
    h.slot = static_cast<int>(r) * spw;
    live[r].push_back(std::move(h));
    live_logits[r].push_back(std::move(cur[r]));
  }

  std::vector<int32_t> step_tokens;
  for (int step = 0; step < sample_len; ++step) {
    std::vector<std::pair<size_t, size_t>> fed;  // (request, hyp)
    for (size_t r = 0; r < nr; ++r) {
      if (done[r]) continue;
      auto& hyps = live[r];
      if (beam == 1) {
        Hyp& h = hyps[0];
        std::vector<float>& lg = live_logits[r][0];
        apply_filters(h.tokens, lg);
        log_softmax(lg, &lp);
        int tok = 0;
        if (temperature <= 0) {
          tok = argmax(lg);
        } else {
          std::vector<double> w(nv);
          float mx = kNegInf;
          for (float v : lg) mx = std::max(mx, v);
          for (size_t i = 0; i < nv; ++i)
            w[i] = lg[i] == kNegInf ? 0.0 : std::exp(static_cast<double>((lg[i] - mx) / temperature));
          std::discrete_distribution<int> dist(w.begin(), w.end());
          tok = dist(rng);
        }
        const float l = lp[static_cast<size_t>(tok)];
        h.sum_logprob += l;
        if (tok == eot) {
          done[r] = true;
          continue;
        }
        h.tokens.push_back(tok);
        h.probs.push_back(std::exp(l));
        if (static_cast<int>(h.tokens.size()) >= sample_len || n_past[r] + 1 > n_text_ctx_) {
          done[r] = true;
          continue;
        }
        fed.emplace_back(r, 0);
        continue;
      }
      // Beam search: expand every hypothesis by its beam + 1 best tokens.
      struct Cand {
        double score;
        size_t src;
        int tok;
        float prob;
      };
      std::map<std::vector<int>, Cand> cands;
      for (size_t j = 0; j < hyps.size(); ++j) {
        std::vector<float>& lg = live_logits[r][j];
        apply_filters(hyps[j].tokens, lg);
        log_softmax(lg, &lp);
        std::vector<int> idx(nv);
        for (size_t i = 0; i < nv; ++i) idx[i] = static_cast<int>(i);
        const size_t k = std::min(nv, static_cast<size_t>(beam + 1));
        std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                          [&](int a, int b) { return lp[static_cast<size_t>(a)] > lp[static_cast<size_t>(b)]; });
        for (size_t q = 0; q < k; ++q) {
          const int t = idx[q];
          const float l = lp[static_cast<size_t>(t)];
          if (l == kNegInf) continue;
          std::vector<int> seq = hyps[j].tokens;
          seq.push_back(t);
          cands[std::move(seq)] = Cand{hyps[j].sum_logprob + l, j, t, std::exp(l)};
        }
      }
      std::vector<std::pair<const std::vector<int>*, const Cand*>> order;
      for (const auto& [seq, c] : cands) order.emplace_back(&seq, &c);
      std::stable_sort(order.begin(), order.end(),
                       [](const auto& a, const auto& b) { return a.second->score > b.second->score; });
      std::vector<Hyp> next;
      std::vector<Hyp> newly_finished;
      for (const auto& [seq, c] : order) {
        const Hyp& src = hyps[c->src];
        if (c->tok == eot) {
          Hyp f = src;
          f.sum_logprob = c->score;
          newly_finished.push_back(std::move(f));
          continue;
        }
        Hyp h;
        h.tokens = *seq;
        h.probs = src.probs;
        h.probs.push_back(c->prob);
        h.sum_logprob = c->score;
        h.slot = src.slot;  // the parent's slot, until copied below
        next.push_back(std::move(h));
        if (static_cast<int>(next.size()) == beam) break;
      }
      for (auto& f : newly_finished) {
        if (finished[r].size() >= max_candidates) break;
        finished[r].push_back(std::move(f));
      }
      const bool out_of_room = next.empty() || static_cast<int>(next[0].tokens.size()) >= sample_len ||
                               n_past[r] + 1 > n_text_ctx_;
      if (finished[r].size() >= max_candidates || out_of_room) {
        if (out_of_room && !next.empty()) live[r] = std::move(next);  // candidates for finalisation
        done[r] = true;
        continue;
      }
      // Children continue their parent's cache in the other half of this
      // request's slots, so no parent is overwritten before it is copied.
      parity[r] ^= 1;
      const int base = static_cast<int>(r) * spw + parity[r] * beam;
      for (size_t k = 0; k < next.size(); ++k) {
        const int dst = base + static_cast<int>(k);
        backend.copy_kv(next[k].slot, dst, n_past[r]);
        next[k].slot = dst;
      }
      live[r] = std::move(next);
      live_logits[r].assign(live[r].size(), {});
      for (size_t k = 0; k < live[r].size(); ++k) fed.emplace_back(r, k);
    }
    if (fed.empty()) break;
    steps.clear();
    step_tokens.resize(fed.size());
    for (size_t i = 0; i < fed.size(); ++i) {
      const auto [r, j] = fed[i];
      const Hyp& h = live[r][j];
      step_tokens[i] = h.tokens.back();
      steps.push_back({requests[r].window, h.slot, std::span<const int32_t>(&step_tokens[i], 1), n_past[r]});
    }
    SF_RETURN_IF_ERROR(backend.decode(steps, &logits));
    for (size_t i = 0; i < fed.size(); ++i) {
      const auto [r, j] = fed[i];
      std::vector<float> lg(logits.begin() + static_cast<std::ptrdiff_t>(i * nv),
                            logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * nv));
      if (beam == 1) {
        live_logits[r][0] = std::move(lg);
      } else {
        live_logits[r][j] = std::move(lg);
      }
    }
    for (size_t r = 0; r < nr; ++r) {
      bool any = false;
      for (const auto& f : fed) any = any || f.first == r;
      if (any) n_past[r] += 1;
    }
  }

  for (size_t r = 0; r < nr; ++r) {
    const Hyp* best = nullptr;
    if (beam == 1) {
      best = &live[r][0];
    } else {
      // Unfinished beams count as candidates when too few sequences ended.
      std::vector<Hyp> pool = finished[r];
      std::vector<Hyp> rest = live[r];
      std::stable_sort(rest.begin(), rest.end(),
                       [](const Hyp& a, const Hyp& b) { return a.sum_logprob > b.sum_logprob; });
      for (auto& h : rest) {
        if (static_cast<int>(pool.size()) >= beam) break;
        pool.push_back(std::move(h));
      }
      finished[r] = std::move(pool);
      double best_score = -std::numeric_limits<double>::infinity();
      for (const Hyp& h : finished[r]) {
        const double score = h.sum_logprob / static_cast<double>(std::max<size_t>(h.tokens.size(), 1));
        if (best == nullptr || score > best_score) {
          best = &h;
          best_score = score;
        }
      }
    }
    WindowResult& out = results[r];
    if (best != nullptr) {
      out.tokens = best->tokens;
      out.token_probs = best->probs;
      out.sum_logprob = best->sum_logprob;
    }
    out.avg_logprob = out.sum_logprob / static_cast<double>(out.tokens.size() + 1);
    out.temperature = temperature;
    out.text = tok_->decode(out.tokens);
    out.compression_ratio = compression_ratio(out.text);
  }
  return results;
}

bool Decoder::is_silence(const WindowResult& r) const {
  return r.no_speech_prob > options_.no_speech_threshold && !(r.avg_logprob > options_.logprob_threshold);
}

Result<std::vector<WindowResult>> Decoder::decode_with_fallback(
    DecoderBackend& backend, std::span<const WindowRequest> requests) const {
  std::vector<WindowResult> results(requests.size());
  std::vector<size_t> pending(requests.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  for (size_t ti = 0; ti < options_.temperatures.size() && !pending.empty(); ++ti) {
    const float t = options_.temperatures[ti];
    std::vector<WindowRequest> sub;
    for (size_t i : pending) sub.push_back(requests[i]);
    SF_ASSIGN_OR_RETURN(std::vector<WindowResult> got, decode(backend, sub, t, options_.seed + ti));
    std::vector<size_t> again;
    for (size_t k = 0; k < pending.size(); ++k) {
      WindowResult& res = got[k];
      bool needs = res.compression_ratio > options_.compression_ratio_threshold ||
                   res.avg_logprob < options_.logprob_threshold;
      if (res.no_speech_prob > options_.no_speech_threshold && res.avg_logprob < options_.logprob_threshold)
        needs = false;
      if (needs) {
        SF_LOG_DEBUG("whisper: window {} at temperature {:.1f}: compression {:.2f}, avg logprob {:.2f}; retrying",
                     requests[pending[k]].window, t, res.compression_ratio, res.avg_logprob);
        again.push_back(pending[k]);
      }
      results[pending[k]] = std::move(res);
    }
    pending = std::move(again);
  }
  return results;
}

}  // namespace sf::asr::whisper
