// Decoding logic on the real decoder, alignment and transcription code,
// driven by a backend whose logits and cross-attention are crafted from the
// decoded context, so each Whisper rule can be observed.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "asr/whisper/alignment.h"
#include "asr/whisper/decoder.h"
#include "asr/whisper/test_vocab.h"
#include "asr/whisper/transcriber.h"
#include "asr/whisper/vad.h"

namespace sf::asr::whisper {
namespace {

using testing::TempDir;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::unique_ptr<Tokenizer> make_tokenizer(const TempDir& tmp) {
  testing::SyntheticVocab v{tmp.path() / "vocab", testing::default_merges(), testing::default_specials(), true};
  testing::write_vocab(v, true);
  auto t = Tokenizer::load_hf(v.dir);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(t).value() : nullptr;
}

// What the crafted model sees when asked for logits.
struct Query {
  int window = 0;                // index in the last encode()
  AudioWindow audio;             // that window's audio span
  std::vector<int> context;      // every token in the slot, the new ones included
  std::vector<int> sampled;      // tokens after the start-of-transcript sequence
  bool at_sot = false;           // the last token is <|startoftranscript|>
  int pass = 0;                  // how many earlier decodes of this window ran
};
using Script = std::function<std::vector<float>(const Query&)>;

// A DecoderBackend over crafted logits. Each KV slot keeps the token history
// the decoder gave it, so wrong cache handling shows as wrong context.
class ScriptedBackend : public DecoderBackend {
 public:
  ScriptedBackend(const Tokenizer& tok, Script script) : tok_(tok), script_(std::move(script)) {}

  int n_vocab() const override { return tok_.vocab_size(); }
  int n_text_ctx() const override { return 448; }
  int n_audio_ctx() const override { return 1500; }
  int kv_slots() const override { return 16; }
  int max_windows() const override { return 4; }

  Status encode(std::span<const AudioWindow> windows) override {
    windows_.assign(windows.begin(), windows.end());
    encode_calls.push_back(windows_);
    passes_.assign(windows.size(), 0);
    return {};
  }

  Status decode(std::span<const DecodeStep> steps, std::vector<float>* logits) override {
    logits->clear();
    std::set<int> used;
    for (const DecodeStep& s : steps) {
      if (!used.insert(s.slot).second) return internal_error("two sequences in one KV slot");
    }
    for (const DecodeStep& s : steps) {
      auto& h = hist_[s.slot];
      if (s.n_past > static_cast<int>(h.size())) return internal_error("n_past beyond the slot's cache");
      if (s.window < 0 || s.window >= static_cast<int>(windows_.size())) return internal_error("bad window");
      h.resize(static_cast<size_t>(s.n_past));
      h.insert(h.end(), s.tokens.begin(), s.tokens.end());
      if (static_cast<int>(h.size()) > n_text_ctx()) return internal_error("context overflow");
      Query q;
      q.window = s.window;
      q.audio = windows_[static_cast<size_t>(s.window)];
      q.context = h;
      q.at_sot = h.back() == tok_.special().sot;
      auto sot = std::find(h.begin(), h.end(), tok_.special().sot);
      size_t begin = static_cast<size_t>(sot - h.begin()) + 3;
      if (begin < h.size() && h[begin] == tok_.special().no_timestamps) ++begin;
      if (!q.at_sot && begin <= h.size()) q.sampled.assign(h.begin() + static_cast<std::ptrdiff_t>(begin), h.end());
      // A pass begins where the full start-of-transcript sequence is fed.
      const bool pass_start = !q.at_sot && q.sampled.empty() && s.tokens.size() > 1;
      q.pass = passes_[static_cast<size_t>(s.window)];
      if (pass_start) {
        first_context.push_back(h);
        passes_[static_cast<size_t>(s.window)] += 1;
        q.pass = passes_[static_cast<size_t>(s.window)] - 1;
      } else if (!q.at_sot) {
        q.pass = passes_[static_cast<size_t>(s.window)] - 1;
      }
      std::vector<float> l = script_(q);
      l.resize(static_cast<size_t>(n_vocab()), l.empty() ? 0.0f : l.back());
      logits->insert(logits->end(), l.begin(), l.end());
    }
    return {};
  }

  void copy_kv(int src, int dst, int n) override {
    std::vector<int> h = hist_[src];
    h.resize(static_cast<size_t>(n));
    hist_[dst] = std::move(h);
  }

  // Row q (a query token) attends to frames [25 (q - k), 25 (q - k) + 25)
  // where k is the start-of-transcript length: 0.5 s per token from the
  // <|notimestamps|> row on.
  Status cross_attention(int window, int slot, std::span<const int32_t> tokens, std::vector<float>* w,
                         int* n_heads) override {
    (void)window;
    (void)slot;
    cross_attention_calls += 1;
    const int heads = 2, ctx = n_audio_ctx(), sot_len = 3;
    *n_heads = heads;
    w->assign(static_cast<size_t>(heads) * tokens.size() * static_cast<size_t>(ctx), 0.01f);
    for (int h = 0; h < heads; ++h) {
      for (size_t q = 0; q < tokens.size(); ++q) {
        const int r = static_cast<int>(q) - sot_len;
        if (r < 0) continue;
        for (int f = 25 * r; f < 25 * r + 25 && f < ctx; ++f)
          (*w)[(static_cast<size_t>(h) * tokens.size() + q) * static_cast<size_t>(ctx) + static_cast<size_t>(f)] =
              1.0f + 0.1f * static_cast<float>(h);
      }
    }
    return {};
  }

  std::vector<std::vector<AudioWindow>> encode_calls;
  std::vector<std::vector<int>> first_context;  // context at each pass start
  int cross_attention_calls = 0;

 private:
  const Tokenizer& tok_;
  Script script_;
  std::vector<AudioWindow> windows_;
  std::vector<int> passes_;
  std::map<int, std::vector<int>> hist_;
};

// Logits that make `seq[k]` the k-th sampled token (then eot).
struct Forcing {
  float hi = 10, text_lo = 0, ts_lo = 0;
};
std::vector<float> force(const Tokenizer& tok, const std::vector<int>& seq, const Query& q, Forcing f = {}) {
  std::vector<float> l(static_cast<size_t>(tok.vocab_size()), f.text_lo);
  for (int i = tok.special().timestamp_begin; i < tok.vocab_size(); ++i) l[static_cast<size_t>(i)] = f.ts_lo;
  const size_t k = q.sampled.size();
  const int target = k < seq.size() ? seq[k] : tok.special().eot;
  l[static_cast<size_t>(target)] = f.hi;
  return l;
}

// Uniform logits, with a no-speech score at the start-of-transcript position.
std::vector<float> at_sot(const Tokenizer& tok, float no_speech) {
  std::vector<float> l(static_cast<size_t>(tok.vocab_size()), 0.0f);
  l[static_cast<size_t>(tok.special().no_speech)] = no_speech;
  return l;
}

class WhisperDecoding : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = make_tokenizer(tmp_);
    ASSERT_NE(tok_, nullptr);
  }
  int ts(int i) const { return tok_->special().timestamp_begin + i; }
  std::vector<int> enc(const std::string& s) const {
    auto r = tok_->encode(s);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<int>{};
  }
  std::vector<int> cat(std::initializer_list<std::vector<int>> parts) const {
    std::vector<int> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  }
  Decoder decoder(DecodeOptions o) const {
    auto d = Decoder::create(*tok_, std::move(o), tok_->vocab_size(), 448);
    EXPECT_TRUE(d.ok()) << d.status().to_string();
    return std::move(d).value();
  }
  static DecodeOptions english(bool words = false) {
    DecodeOptions o;
    o.language = "en";
    o.word_timestamps = words;
    return o;
  }

  TempDir tmp_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(WhisperDecoding, ForcedSequenceGivesSegmentsSeeksToLastTimestampAndSkipsSilence) {
  // <|0.00|> the world <|1.00|><|1.00|> in there <|2.50|>
  const auto seq = cat({{ts(0)}, enc(" the world"), {ts(50), ts(50)}, enc(" in there"), {ts(125)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    const bool first = q.audio.start_sample == 0;
    if (q.at_sot) return at_sot(*tok_, first ? 0.0f : 10.0f);
    if (first) return force(*tok_, seq, q);
    return std::vector<float>(static_cast<size_t>(tok_->vocab_size()), 0.0f);  // no idea: silence
  });
  Decoder d = decoder(english());
  auto t = transcribe_long(be, d, 10 * 16000, 100.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  ASSERT_EQ(t->segments.size(), 2u);
  EXPECT_EQ(t->segments[0].text, "the world");
  EXPECT_DOUBLE_EQ(t->segments[0].start, 100.0);
  EXPECT_DOUBLE_EQ(t->segments[0].end, 101.0);
  EXPECT_EQ(t->segments[1].text, "in there");
  EXPECT_DOUBLE_EQ(t->segments[1].start, 101.0);
  EXPECT_DOUBLE_EQ(t->segments[1].end, 102.5);
  EXPECT_EQ(t->language, "en");
  // Words are spread over their segment when alignment is off.
  ASSERT_EQ(t->segments[1].words.size(), 2u);
  EXPECT_EQ(t->segments[1].words[0].text, "in");
  EXPECT_NEAR(t->segments[1].words[0].start, 101.0, 1e-9);
  EXPECT_NEAR(t->segments[1].words[1].end, 102.5, 1e-9);
  EXPECT_GT(t->segments[1].words[0].probability, 0.5f);

  // The window ended with a single timestamp: the next one starts there,
  // and covers the rest of the audio; it was silent, so nothing came of it.
  ASSERT_EQ(be.encode_calls.size(), 2u);
  EXPECT_EQ(be.encode_calls[0][0].start_sample, 0);
  EXPECT_EQ(be.encode_calls[0][0].n_samples, 160000);
  EXPECT_EQ(be.encode_calls[1][0].start_sample, 250 * 160);
  EXPECT_EQ(be.encode_calls[1][0].n_samples, 160000 - 250 * 160);
  EXPECT_FALSE(be.encode_calls[1][0].isolated);

  // The second window was prompted with the first one's tokens.
  ASSERT_GE(be.first_context.size(), 2u);
  const auto& ctx = be.first_context[1];
  ASSERT_GT(ctx.size(), seq.size());
  EXPECT_EQ(ctx[0], tok_->special().start_of_prev);
  EXPECT_EQ(std::vector<int>(ctx.begin() + 1, ctx.begin() + 1 + static_cast<std::ptrdiff_t>(seq.size())), seq);
  EXPECT_EQ(ctx[1 + seq.size()], tok_->special().sot);
  // The silent window needed no fallback: one pass only.
  EXPECT_EQ(be.first_context.size(), 2u);
}

TEST_F(WhisperDecoding, ConfidentTextIsKeptDespiteHighNoSpeechProbability) {
  const auto seq = cat({{ts(0)}, enc(" the world"), {ts(100)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 10.0f);
    return force(*tok_, seq, q);
  });
  Decoder d = decoder(english());
  auto t = transcribe_long(be, d, 5 * 16000, 0.0);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->segments.size(), 1u);
  EXPECT_EQ(t->segments[0].text, "the world");
  // No consecutive timestamps: the whole window is consumed, ending at the
  // last timestamp.
  EXPECT_DOUBLE_EQ(t->segments[0].end, 2.0);
  EXPECT_EQ(be.encode_calls.size(), 1u);
}

TEST_F(WhisperDecoding, TimestampRulesPairAndNeverDecrease) {
  Decoder d = decoder(english());
  const int n = tok_->vocab_size();
  const int eot = tok_->special().eot;
  const int text = enc(" the")[0];
  auto filtered = [&](std::vector<int> sampled) {
    std::vector<float> l(static_cast<size_t>(n), 0.0f);
    l[static_cast<size_t>(text)] = 20.0f;  // text is far likelier: no forced timestamp
    d.apply_filters(sampled, l);
    return l;
  };
  auto allowed = [](const std::vector<float>& l, int id) { return l[static_cast<size_t>(id)] > kNegInf; };

  // First position: only a timestamp, at most <|1.00|>.
  auto l0 = filtered({});
  EXPECT_FALSE(allowed(l0, text));
  EXPECT_FALSE(allowed(l0, eot));
  EXPECT_TRUE(allowed(l0, ts(0)));
  EXPECT_TRUE(allowed(l0, ts(50)));
  EXPECT_FALSE(allowed(l0, ts(51)));
  EXPECT_FALSE(allowed(l0, tok_->special().no_timestamps));

  // After a text token that followed <|0.20|>: a later timestamp or text.
  auto l1 = filtered({ts(10), text});
  EXPECT_TRUE(allowed(l1, text));
  EXPECT_TRUE(allowed(l1, eot));
  EXPECT_FALSE(allowed(l1, ts(10)));
  EXPECT_TRUE(allowed(l1, ts(11)));

  // An open timestamp: it must be closed (same or later time) or end.
  auto l2 = filtered({ts(10), text, ts(20)});
  EXPECT_FALSE(allowed(l2, text));
  EXPECT_FALSE(allowed(l2, ts(19)));
  EXPECT_TRUE(allowed(l2, ts(20)));
  EXPECT_TRUE(allowed(l2, ts(1500)));

  // A closed pair: text must follow.
  auto l3 = filtered({ts(10), text, ts(20), ts(20)});
  EXPECT_TRUE(allowed(l3, text));
  EXPECT_FALSE(allowed(l3, ts(21)));
  EXPECT_FALSE(allowed(l3, ts(1500)));

  // Control tokens are never sampled.
  for (int id : {tok_->special().sot, tok_->special().transcribe, tok_->special().translate,
                 tok_->special().start_of_prev, tok_->special().no_speech})
    EXPECT_FALSE(allowed(l1, id));
}

TEST_F(WhisperDecoding, TimestampIsForcedWhenTimestampsOutweighText) {
  Decoder d = decoder(english());
  const int n = tok_->vocab_size();
  const int text = enc(" the")[0];
  // Text token: logit 3 (e^3 = 20); 1490 allowed timestamps at logit 1
  // (together 1490 e = 4050): a timestamp must come.
  std::vector<float> l(static_cast<size_t>(n), 1.0f);
  for (int i = 0; i < tok_->special().eot; ++i) l[static_cast<size_t>(i)] = -5.0f;
  l[static_cast<size_t>(text)] = 3.0f;
  d.apply_filters(std::vector<int>{ts(0), text}, l);
  EXPECT_EQ(l[static_cast<size_t>(text)], kNegInf);
  EXPECT_GT(l[static_cast<size_t>(ts(40))], kNegInf);

  // With the text token at logit 10 (e^10 = 22026) the text stays.
  std::vector<float> m(static_cast<size_t>(n), 1.0f);
  m[static_cast<size_t>(text)] = 10.0f;
  d.apply_filters(std::vector<int>{ts(0), text}, m);
  EXPECT_EQ(m[static_cast<size_t>(text)], 10.0f);
}

TEST_F(WhisperDecoding, BlankAndEndAreSuppressedAtTheFirstStepOnly) {
  DecodeOptions o = english();
  o.timestamps = false;
  o.suppress_non_speech = false;
  Decoder d = decoder(o);
  const int space = tok_->piece_id(" ");
  ASSERT_GE(space, 0);
  std::vector<float> l(static_cast<size_t>(tok_->vocab_size()), 0.0f);
  d.apply_filters(std::vector<int>{}, l);
  EXPECT_EQ(l[static_cast<size_t>(space)], kNegInf);
  EXPECT_EQ(l[static_cast<size_t>(tok_->special().eot)], kNegInf);
  std::vector<float> m(static_cast<size_t>(tok_->vocab_size()), 0.0f);
  d.apply_filters(enc(" the"), m);
  EXPECT_EQ(m[static_cast<size_t>(space)], 0.0f);
  EXPECT_EQ(m[static_cast<size_t>(tok_->special().eot)], 0.0f);
  // Without timestamps, timestamp tokens are not restricted by rules.
  EXPECT_EQ(m[static_cast<size_t>(ts(700))], 0.0f);
}

TEST_F(WhisperDecoding, NonSpeechSymbolsAreSuppressedByDefault) {
  DecodeOptions plain = english();
  plain.timestamps = false;  // only the suppress lists act
  Decoder d = decoder(plain);
  std::vector<float> l(static_cast<size_t>(tok_->vocab_size()), 0.0f);
  d.apply_filters(std::vector<int>{ts(0), enc(" the")[0]}, l);
  for (const char* sym : {"#", "(", "@", "~"}) EXPECT_EQ(l[static_cast<size_t>(tok_->piece_id(sym))], kNegInf) << sym;
  for (const char* ok : {"a", ",", ".", "!", "?"}) EXPECT_EQ(l[static_cast<size_t>(tok_->piece_id(ok))], 0.0f) << ok;

  // An explicit list (generation_config.json) replaces the computed set.
  DecodeOptions o = plain;
  o.suppress_tokens = {tok_->piece_id("a")};
  Decoder e = decoder(o);
  std::vector<float> m(static_cast<size_t>(tok_->vocab_size()), 0.0f);
  e.apply_filters(std::vector<int>{ts(0), enc(" the")[0]}, m);
  EXPECT_EQ(m[static_cast<size_t>(tok_->piece_id("a"))], kNegInf);
  EXPECT_EQ(m[static_cast<size_t>(tok_->piece_id("#"))], 0.0f);
}

TEST(WhisperDecoderOptions, EnglishOnlyModelsTakeNoLanguageOrTask) {
  std::vector<std::string> pieces(50256);
  for (size_t i = 0; i < pieces.size(); ++i) pieces[i] = "t" + std::to_string(i);
  auto tok = Tokenizer::from_token_bytes(pieces, 51864);
  ASSERT_TRUE(tok.ok());
  DecodeOptions o;
  auto d = Decoder::create(**tok, o, 51864, 448);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sot_sequence(-1), (std::vector<int>{50257}));
  o.task = "translate";
  EXPECT_EQ(Decoder::create(**tok, o, 51864, 448).status().code(), Code::kInvalidArgument);
  o.task = "transcribe";
  o.language = "de";
  EXPECT_EQ(Decoder::create(**tok, o, 51864, 448).status().code(), Code::kInvalidArgument);
  o.language = "en";
  EXPECT_TRUE(Decoder::create(**tok, o, 51864, 448).ok());
}

TEST_F(WhisperDecoding, FirstTimestampIsCappedAtOneSecond) {
  const int the = enc(" the")[0];
  ScriptedBackend be(*tok_, [&](const Query& q) {
    std::vector<float> l(static_cast<size_t>(tok_->vocab_size()), 0.0f);
    if (q.at_sot) return l;
    if (q.sampled.empty()) {
      l[static_cast<size_t>(ts(100))] = 12.0f;  // 2.0 s: beyond the cap
      l[static_cast<size_t>(ts(30))] = 10.0f;
    } else if (q.sampled.size() == 1) {
      l[static_cast<size_t>(the)] = 10.0f;
    } else {
      l[static_cast<size_t>(tok_->special().eot)] = 10.0f;
    }
    return l;
  });
  Decoder d = decoder(english());
  AudioWindow w{0, 16000 * 5, false};
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  WindowRequest r{0, {}, tok_->language_id("en")};
  auto res = d.decode(be, {&r, 1}, 0.0f, 1);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ((*res)[0].tokens.size(), 2u);
  EXPECT_EQ((*res)[0].tokens[0], ts(30));
  EXPECT_EQ((*res)[0].tokens[1], the);
}

TEST_F(WhisperDecoding, ParseWindowSegmentsAndSeek) {
  const auto the = enc(" the");
  const auto in = enc(" in");
  // Closed pair then unfinished text: resume at the pair.
  auto a = parse_window(*tok_, cat({{ts(0)}, the, {ts(100), ts(100)}, in}), 3000);
  ASSERT_EQ(a.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(a.segments[0].start, 0.0);
  EXPECT_DOUBLE_EQ(a.segments[0].end, 2.0);
  EXPECT_EQ(a.seek_advance, 200);
  // Two closed segments, ending on a single timestamp: resume at it.
  auto b = parse_window(*tok_, cat({{ts(10)}, the, {ts(100), ts(120)}, in, {ts(400)}}), 3000);
  ASSERT_EQ(b.segments.size(), 2u);
  EXPECT_DOUBLE_EQ(b.segments[0].start, 0.2);
  EXPECT_DOUBLE_EQ(b.segments[1].start, 2.4);
  EXPECT_DOUBLE_EQ(b.segments[1].end, 8.0);
  EXPECT_EQ(b.seek_advance, 800);
  // One timestamped segment without a pair: the whole window is consumed.
  auto c = parse_window(*tok_, cat({{ts(0)}, the, {ts(150)}}), 3000);
  ASSERT_EQ(c.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(c.segments[0].end, 3.0);
  EXPECT_EQ(c.seek_advance, 3000);
  // No timestamps at all: one segment over the window.
  auto e = parse_window(*tok_, the, 1234);
  ASSERT_EQ(e.segments.size(), 1u);
  EXPECT_DOUBLE_EQ(e.segments[0].end, 12.34);
  EXPECT_EQ(e.seek_advance, 1234);
}

TEST_F(WhisperDecoding, RepetitiveOutputFallsBackToHigherTemperature) {
  std::vector<int> loop = {ts(0)};
  for (int i = 0; i < 100; ++i) loop.push_back(enc(" the")[0]);
  loop.push_back(ts(500));
  const auto good = cat({{ts(0)}, enc(" the world"), {ts(100)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 0.0f);
    return force(*tok_, q.pass == 0 ? loop : good, q);
  });
  Decoder d = decoder(english());
  AudioWindow w{0, 16000 * 10, false};
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  WindowRequest r{0, {}, tok_->language_id("en")};
  // The repetitive text alone would trip the threshold.
  auto first = d.decode(be, {&r, 1}, 0.0f, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_GT((*first)[0].compression_ratio, 2.4);
  EXPECT_GT((*first)[0].avg_logprob, -1.0);
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  auto res = d.decode_with_fallback(be, {&r, 1});
  ASSERT_TRUE(res.ok());
  EXPECT_FLOAT_EQ(static_cast<float>((*res)[0].temperature), 0.2f);
  EXPECT_EQ((*res)[0].text, " the world");
  EXPECT_LT((*res)[0].compression_ratio, 2.4);
}

TEST_F(WhisperDecoding, UnlikelyOutputFallsBackToHigherTemperature) {
  const auto good = cat({{ts(0)}, enc(" the world"), {ts(100)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 0.0f);
    if (q.pass == 0) return force(*tok_, good, q, Forcing{2.0f, 0.0f, -10.0f});
    return force(*tok_, good, q);
  });
  Decoder d = decoder(english());
  AudioWindow w{0, 16000 * 10, false};
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  WindowRequest r{0, {}, tok_->language_id("en")};
  auto weak = d.decode(be, {&r, 1}, 0.0f, 1);
  ASSERT_TRUE(weak.ok());
  EXPECT_EQ((*weak)[0].tokens, good);  // same text, low confidence
  EXPECT_LT((*weak)[0].avg_logprob, -1.0);
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  auto res = d.decode_with_fallback(be, {&r, 1});
  ASSERT_TRUE(res.ok());
  EXPECT_FLOAT_EQ(static_cast<float>((*res)[0].temperature), 0.2f);
  EXPECT_GT((*res)[0].avg_logprob, -1.0);
  EXPECT_EQ((*res)[0].tokens, good);
}

TEST_F(WhisperDecoding, BeamSearchFindsTheLikelierSequence) {
  const int a = tok_->piece_id("a"), b = tok_->piece_id("b"), c = tok_->piece_id("c"),
            dd = tok_->piece_id("d"), e = tok_->piece_id("e"), f = tok_->piece_id("f");
  const int eot = tok_->special().eot;
  ScriptedBackend be(*tok_, [&](const Query& q) {
    std::vector<float> l(static_cast<size_t>(tok_->vocab_size()), -30.0f);
    if (q.at_sot) return l;
    const auto& s = q.sampled;
    auto set = [&](int id, float v) { l[static_cast<size_t>(id)] = v; };
    if (s.empty()) {
      set(a, 1.0f);  // p(a) = 0.6: greedy's choice
      set(b, 0.6f);
    } else if (s == std::vector<int>{a}) {
      set(c, 0.01f);  // three near-equal continuations
      set(dd, 0.0f);
      set(e, 0.0f);
    } else if (s == std::vector<int>{b}) {
      set(f, 10.0f);  // one sure continuation
    } else {
      set(eot, 10.0f);
    }
    return l;
  });
  DecodeOptions o = english();
  o.timestamps = false;
  AudioWindow w{0, 16000 * 5, false};
  WindowRequest r{0, {}, tok_->language_id("en")};

  Decoder greedy = decoder(o);
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  auto g = greedy.decode(be, {&r, 1}, 0.0f, 1);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)[0].tokens, (std::vector<int>{a, c}));

  o.beam_size = 3;
  Decoder beam = decoder(o);
  ASSERT_TRUE(be.encode({&w, 1}).ok());
  auto bs = beam.decode(be, {&r, 1}, 0.0f, 1);
  ASSERT_TRUE(bs.ok()) << bs.status().to_string();
  EXPECT_EQ((*bs)[0].tokens, (std::vector<int>{b, f}));
  EXPECT_GT((*bs)[0].sum_logprob, (*g)[0].sum_logprob);
  EXPECT_EQ((*bs)[0].text, "bf");
}

TEST_F(WhisperDecoding, DetectsLanguageAndUsesItInTheSequence) {
  const int de = tok_->language_id("de");
  const auto seq = cat({{ts(0)}, enc(" the"), {ts(50)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    std::vector<float> l(static_cast<size_t>(tok_->vocab_size()), 0.0f);
    if (q.at_sot) {
      l[static_cast<size_t>(de)] = 5.0f;
      return l;
    }
    auto sot = std::find(q.context.begin(), q.context.end(), tok_->special().sot);
    if (sot + 1 >= q.context.end() || *(sot + 1) != de) return l;  // wrong language: noise
    return force(*tok_, seq, q);
  });
  DecodeOptions o;
  o.word_timestamps = false;
  Decoder d = decoder(o);
  EXPECT_EQ(d.forced_language(), -1);
  auto t = transcribe_long(be, d, 3 * 16000, 0.0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->language, "de");
  ASSERT_EQ(t->segments.size(), 1u);
  EXPECT_EQ(t->segments[0].text, "the");

  DecodeOptions bad;
  bad.language = "xx";
  EXPECT_FALSE(Decoder::create(*tok_, bad, tok_->vocab_size(), 448).ok());
}

TEST_F(WhisperDecoding, WordTimesFollowCrossAttention) {
  const auto seq = cat({{ts(0)}, enc(" the world"), {ts(50), ts(50)}, enc(" in there"), {ts(150)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 0.0f);
    if (q.audio.start_sample == 0) return force(*tok_, seq, q);
    return force(*tok_, cat({{ts(0)}, enc(" in"), {ts(25)}}), q);
  });
  Decoder d = decoder(english(true));
  auto t = transcribe_long(be, d, 4 * 16000, 10.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_GE(be.cross_attention_calls, 1);
  ASSERT_GE(t->segments.size(), 2u);
  // The crafted attention puts text token i at [0.5 i, 0.5 i + 0.5) s.
  std::vector<std::string> words = {"the", "world", "in", "there"};
  std::vector<size_t> ntok = {enc(" the").size(), enc(" world").size(), enc(" in").size(), enc(" there").size()};
  std::vector<Word> got;
  for (size_t s = 0; s < 2; ++s) got.insert(got.end(), t->segments[s].words.begin(), t->segments[s].words.end());
  ASSERT_EQ(got.size(), words.size());
  size_t at = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    EXPECT_EQ(got[i].text, words[i]);
    EXPECT_NEAR(got[i].start, 10.0 + 0.5 * static_cast<double>(at), 1e-9) << words[i];
    at += ntok[i];
    EXPECT_NEAR(got[i].end, 10.0 + 0.5 * static_cast<double>(at), 1e-9) << words[i];
    EXPECT_GT(got[i].probability, 0.8f);
    EXPECT_LE(got[i].probability, 1.0f);
  }
  EXPECT_DOUBLE_EQ(t->segments[0].start, got[0].start);
  EXPECT_DOUBLE_EQ(t->segments[1].end, got[3].end);
}

TEST_F(WhisperDecoding, DtwFollowsTheCheapestMonotonePath) {
  // 3 tokens x 6 frames; token r is cheap on frames [2r, 2r + 2).
  std::vector<float> cost(18, 1.0f);
  for (int r = 0; r < 3; ++r)
    for (int f = 2 * r; f < 2 * r + 2; ++f) cost[static_cast<size_t>(r * 6 + f)] = -1.0f;
  std::vector<int> rows, cols;
  dtw(cost, 3, 6, &rows, &cols);
  EXPECT_EQ(rows, (std::vector<int>{0, 0, 1, 1, 2, 2}));
  EXPECT_EQ(cols, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST_F(WhisperDecoding, MedianFilterRemovesSpikes) {
  std::vector<float> x = {0, 0, 0, 9, 0, 0, 0, 0, 5, 5, 5, 5, 5, 5};
  median_filter(&x, 1, static_cast<int>(x.size()), 7);
  EXPECT_EQ(x[3], 0.0f);
  EXPECT_EQ(x[12], 5.0f);
}

TEST_F(WhisperDecoding, PunctuationJoinsNeighbouringWords) {
  auto wt = [](std::string w, std::vector<float> p) {
    WordTiming t;
    t.word = std::move(w);
    t.token_probs = p;
    t.tokens.assign(p.size(), 0);
    return t;
  };
  std::vector<WordTiming> words = {wt(" Hello", {0.9f}), wt(",", {0.5f}), wt(" (", {0.4f}),
                                   wt("big", {0.8f}), wt(" world", {1.0f}), wt(")", {0.2f}), wt("!", {0.6f})};
  merge_punctuations(&words);
  std::vector<std::string> kept;
  for (const auto& w : words)
    if (!w.word.empty()) kept.push_back(w.word);
  EXPECT_EQ(kept, (std::vector<std::string>{" Hello,", " (big", " world)!"}));
  EXPECT_EQ(words[0].token_probs, (std::vector<float>{0.9f, 0.5f}));
  EXPECT_EQ(words[3].token_probs, (std::vector<float>{0.4f, 0.8f}));

  // Through the alignment: the comma and the full stop stay with words and
  // each word's probability is the mean over its tokens.
  const auto text = enc(" the world, in there.");
  std::vector<float> probs(text.size());
  for (size_t i = 0; i < probs.size(); ++i) probs[i] = 0.1f * static_cast<float>(i + 1);
  const int rows = static_cast<int>(text.size()) + 1, ctx = 1500;
  std::vector<float> attn(static_cast<size_t>(rows * ctx), 0.01f);
  for (int r = 0; r < rows; ++r)
    for (int f = 25 * r; f < 25 * r + 25; ++f) attn[static_cast<size_t>(r * ctx + f)] = 1.0f;
  auto out = find_alignment(*tok_, text, probs, attn, 1, ctx, 500, "en");
  std::vector<std::string> got;
  for (const auto& w : out) got.push_back(w.word);
  EXPECT_EQ(got, (std::vector<std::string>{" the", " world,", " in", " there."}));
  ASSERT_EQ(out.size(), 4u);
  const size_t n_the = enc(" the").size(), n_world = enc(" world").size();
  float mean = 0;
  for (size_t i = n_the; i < n_the + n_world + 1; ++i) mean += probs[i];
  mean /= static_cast<float>(n_world + 1);
  EXPECT_NEAR(out[1].probability, mean, 1e-6);
  EXPECT_NEAR(out[1].start, 0.5 * static_cast<double>(n_the), 1e-9);
}

TEST_F(WhisperDecoding, CharacterLanguagesSplitPerCharacter) {
  std::vector<std::string> words;
  std::vector<std::vector<int>> toks;
  split_to_word_tokens(*tok_, enc("你好世界"), "zh", &words, &toks);
  EXPECT_EQ(words, (std::vector<std::string>{"你", "好", "世", "界"}));
  split_to_word_tokens(*tok_, enc(" déjà vu"), "fr", &words, &toks);
  EXPECT_EQ(words, (std::vector<std::string>{" déjà", " vu"}));
}

TEST_F(WhisperDecoding, BatchedChunksAreDecodedTogetherWithOffsets) {
  const auto seq = cat({{ts(0)}, enc(" the"), {ts(50)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 0.0f);
    return force(*tok_, seq, q);
  });
  DecodeOptions o = english(true);
  o.initial_prompt = "world";
  Decoder d = decoder(o);
  std::vector<SpeechChunk> chunks = {{0, 5 * 16000}, {8 * 16000, 20 * 16000}, {25 * 16000, 40 * 16000}};
  auto t = transcribe_chunks(be, d, chunks, 2, 100.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  ASSERT_EQ(be.encode_calls.size(), 2u);
  EXPECT_EQ(be.encode_calls[0].size(), 2u);
  EXPECT_EQ(be.encode_calls[1].size(), 1u);
  EXPECT_TRUE(be.encode_calls[0][1].isolated);
  EXPECT_EQ(be.encode_calls[0][1].start_sample, 8 * 16000);
  EXPECT_EQ(be.encode_calls[0][1].n_samples, 12 * 16000);
  ASSERT_EQ(t->segments.size(), 3u);
  const double starts[] = {100.0, 108.0, 125.0};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(t->segments[i].text, "the");
    ASSERT_EQ(t->segments[i].words.size(), 1u);
    EXPECT_NEAR(t->segments[i].words[0].start, starts[i], 1e-9);
    EXPECT_NEAR(t->segments[i].words[0].end, starts[i] + 0.5, 1e-9);
  }
  // Every chunk is prompted with the initial prompt only, never with the
  // text of another chunk.
  ASSERT_EQ(be.first_context.size(), 3u);
  const auto prompt = enc(" world");
  for (const auto& ctx : be.first_context) {
    ASSERT_GE(ctx.size(), prompt.size() + 1);
    EXPECT_EQ(ctx[0], tok_->special().start_of_prev);
    EXPECT_EQ(std::vector<int>(ctx.begin() + 1, ctx.begin() + 1 + static_cast<std::ptrdiff_t>(prompt.size())), prompt);
    EXPECT_EQ(ctx[1 + prompt.size()], tok_->special().sot);
  }
}

TEST_F(WhisperDecoding, HotwordsLeadEveryWindowsPrompt) {
  const auto seq = cat({{ts(0)}, enc(" the"), {ts(50)}});
  ScriptedBackend be(*tok_, [&](const Query& q) {
    if (q.at_sot) return at_sot(*tok_, 0.0f);
    return force(*tok_, seq, q);
  });
  DecodeOptions o = english(true);
  o.initial_prompt = "world";
  o.hotwords = "  the, world ";
  Decoder d = decoder(o);
  std::vector<SpeechChunk> chunks = {{0, 5 * 16000}, {8 * 16000, 20 * 16000}};
  auto t = transcribe_chunks(be, d, chunks, 2, 0.0);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  // <|startofprev|>, the hotwords (trimmed, with a leading space), the
  // initial prompt, then <|startoftranscript|>.
  const auto expect = cat({{tok_->special().start_of_prev}, enc(" the, world"), enc(" world"), {tok_->special().sot}});
  ASSERT_EQ(be.first_context.size(), 2u);
  for (const auto& ctx : be.first_context) {
    ASSERT_GE(ctx.size(), expect.size());
    EXPECT_EQ(std::vector<int>(ctx.begin(), ctx.begin() + static_cast<std::ptrdiff_t>(expect.size())), expect);
  }
  // Without an initial prompt the hotwords still come first.
  o.initial_prompt.clear();
  Decoder d2 = decoder(o);
  WindowRequest r;
  const auto ctx = d2.initial_tokens(r);
  const auto hot = cat({{tok_->special().start_of_prev}, enc(" the, world"), {tok_->special().sot}});
  EXPECT_EQ(std::vector<int>(ctx.begin(), ctx.begin() + static_cast<std::ptrdiff_t>(hot.size())), hot);
  // Hotwords never take more than a quarter of the context, and with them
  // the previous text keeps at most the rest of the half.
  std::string many;
  for (int i = 0; i < 400; ++i) many += " the";
  o.hotwords = many;
  Decoder d3 = decoder(o);
  WindowRequest r3;
  r3.prompt.assign(400, enc(" world")[0]);
  const auto c3 = d3.initial_tokens(r3);
  const int n_text_ctx = 448;
  EXPECT_LE(c3.size(), static_cast<size_t>(n_text_ctx / 2 + 4));
}

TEST(WhisperCompression, RatioSeparatesRepetitionFromText) {
  std::string rep;
  for (int i = 0; i < 50; ++i) rep += " the the";
  EXPECT_GT(compression_ratio(rep), 2.4);
  EXPECT_LT(compression_ratio(" The quick brown fox jumps over the lazy dog."), 2.4);
  EXPECT_EQ(compression_ratio(""), 0.0);
}

std::vector<float> tone_with_gaps(const std::vector<std::pair<double, double>>& spans, double total) {
  std::vector<float> a(static_cast<size_t>(total * 16000), 0.0f);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 1e-4f * static_cast<float>(((i * 7919) % 200)) / 200.0f;
  for (const auto& [s, e] : spans)
    for (size_t i = static_cast<size_t>(s * 16000); i < static_cast<size_t>(e * 16000) && i < a.size(); ++i)
      a[i] = 0.3f * static_cast<float>(std::sin(2 * M_PI * 220.0 * static_cast<double>(i) / 16000.0));
  return a;
}

TEST(WhisperVad, ChunksCoverSpeechWithinThirtySeconds) {
  auto audio = tone_with_gaps({{2, 5}, {7, 40}, {44, 46}}, 50);
  auto chunks = vad_chunks(audio);
  ASSERT_GE(chunks.size(), 2u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_LE(chunks[i].end - chunks[i].start, 30 * 16000);
    EXPECT_GT(chunks[i].end, chunks[i].start);
    if (i > 0) {
      EXPECT_GE(chunks[i].start, chunks[i - 1].end);
    }
  }
  // Leading and trailing silence are left out; every speech sample is in a chunk.
  EXPECT_GE(chunks.front().start, static_cast<int64_t>(1.5 * 16000));
  EXPECT_LE(chunks.back().end, static_cast<int64_t>(46.5 * 16000));
  for (double t : {2.1, 4.9, 7.1, 20.0, 39.9, 44.5}) {
    const int64_t s = static_cast<int64_t>(t * 16000);
    bool covered = false;
    for (const auto& c : chunks) covered = covered || (c.start <= s && s < c.end);
    EXPECT_TRUE(covered) << t;
  }
  EXPECT_TRUE(vad_chunks(std::vector<float>(16000 * 5, 0.0f)).empty());
}

}  // namespace
}  // namespace sf::asr::whisper
