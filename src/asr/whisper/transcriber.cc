#include "asr/whisper/transcriber.h"

#include <algorithm>
#include <cmath>

#include "asr/whisper/alignment.h"
#include "core/log.h"

namespace sf::asr::whisper {
namespace {

std::string trim(std::string s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && sp(s.back())) s.pop_back();
  size_t a = 0;
  while (a < s.size() && sp(s[a])) ++a;
  return s.substr(a);
}

std::vector<int> text_only(const Tokenizer& tok, std::span<const int> tokens) {
  std::vector<int> out;
  for (int t : tokens)
    if (t < tok.special().eot) out.push_back(t);
  return out;
}

// Words spread over [start, end] by their length, for when no alignment is
// available.
std::vector<Word> spread_words(const std::string& text, double start, double end, float probability) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!cur.empty()) parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) parts.push_back(std::move(cur));
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<Word> out;
  double t = start;
  for (auto& p : parts) {
    const double d = total > 0 ? (end - start) * static_cast<double>(p.size()) / static_cast<double>(total) : 0;
    out.push_back({std::move(p), t, t + d, probability});
    t += d;
  }
  return out;
}

// Turns a decoded window into transcript segments (absolute times).
// `window_start` is the window's position in seconds from the audio start.
Status emit_window(DecoderBackend& backend, const Decoder& decoder, int window, int window_frames,
                   int language_token, const WindowResult& res, const ParsedWindow& parsed,
                   double window_start, double time_offset, Transcript* out) {
  const Tokenizer& tok = decoder.tokenizer();
  const double window_end = window_start + window_frames / static_cast<double>(kFramesPerSecond);
  // Token probabilities follow res.tokens; find each segment's share.
  std::vector<float> probs_by_pos = res.token_probs;
  std::vector<std::vector<float>> seg_probs;
  {
    size_t pos = 0;
    for (const auto& s : parsed.segments) {
      std::vector<float> p;
      for (int t : s.tokens) {
        if (pos < probs_by_pos.size() && t < tok.special().eot) p.push_back(probs_by_pos[pos]);
        ++pos;
      }
      seg_probs.push_back(std::move(p));
    }
  }
  std::vector<WordTiming> timings;
  if (decoder.options().word_timestamps) {
    std::vector<int> text;
    std::vector<float> text_probs;
    for (size_t i = 0; i < parsed.segments.size(); ++i) {
      auto t = text_only(tok, parsed.segments[i].tokens);
      text.insert(text.end(), t.begin(), t.end());
      text_probs.insert(text_probs.end(), seg_probs[i].begin(), seg_probs[i].end());
    }
    if (!text.empty()) {
      std::vector<int32_t> seq;
      for (int t : decoder.sot_sequence(language_token)) seq.push_back(t);
      const size_t first_row = seq.size();
      seq.push_back(tok.special().no_timestamps);
      seq.insert(seq.end(), text.begin(), text.end());
      seq.push_back(tok.special().eot);
      std::vector<float> attn;
      int n_heads = 0;
      Status st = backend.cross_attention(window, 0, seq, &attn, &n_heads);
      if (!st.ok()) return st.with_context("word alignment");
      const size_t n_ctx = static_cast<size_t>(backend.n_audio_ctx());
      const size_t T = seq.size(), R = text.size() + 1;
      std::vector<float> rows(static_cast<size_t>(n_heads) * R * n_ctx);
      for (size_t h = 0; h < static_cast<size_t>(n_heads); ++h)
        std::copy_n(attn.begin() + static_cast<std::ptrdiff_t>((h * T + first_row) * n_ctx),
                    R * n_ctx, rows.begin() + static_cast<std::ptrdiff_t>(h * R * n_ctx));
      timings = find_alignment(tok, text, text_probs, rows, n_heads, static_cast<int>(n_ctx),
                               window_frames / 2, tok.language_code(language_token));
    }
  }

  size_t wi = 0;
  for (size_t i = 0; i < parsed.segments.size(); ++i) {
    const ParsedSegment& ps = parsed.segments[i];
    Segment seg;
    seg.text = trim(tok.decode(ps.tokens));
    seg.start = time_offset + std::min(window_start + ps.start, window_end);
    seg.end = time_offset + std::min(window_start + ps.end, window_end);
    const size_t n_text = text_only(tok, ps.tokens).size();
    size_t covered = 0;
    while (wi < timings.size() && covered < n_text) {
      const WordTiming& w = timings[wi++];
      covered += w.tokens.size();
      std::string word = trim(w.word);
      if (word.empty()) continue;
      seg.words.push_back({std::move(word), time_offset + std::min(window_start + w.start, window_end),
                           time_offset + std::min(window_start + w.end, window_end), w.probability});
    }
    if (seg.text.empty()) continue;
    if (!seg.words.empty()) {
      seg.start = seg.words.front().start;
      seg.end = std::max(seg.words.back().end, seg.start);
    } else if (timings.empty()) {
      // No alignment (off, or nothing to align): spread the words. With an
      // alignment, a segment whose text was taken by a word spanning the
      // previous segment has no words of its own, as in Whisper.
      double mean = 0;
      for (float p : seg_probs[i]) mean += p;
      if (!seg_probs[i].empty()) mean /= static_cast<double>(seg_probs[i].size());
      seg.words = spread_words(seg.text, seg.start, seg.end, static_cast<float>(mean));
    }
    out->segments.push_back(std::move(seg));
  }
  return {};
}

Result<int> resolve_language(DecoderBackend& backend, const Decoder& decoder) {
  if (decoder.forced_language() >= 0) return decoder.forced_language();
  return decoder.detect_language(backend, 0, 0);
}

}  // namespace

ParsedWindow parse_window(const Tokenizer& tok, std::span<const int> tokens, int window_frames) {
  ParsedWindow out;
  const size_t n = tokens.size();
  auto is_ts = [&](size_t i) { return tok.is_timestamp(tokens[i]); };
  const bool single_ending = n >= 2 && !is_ts(n - 2) && is_ts(n - 1);
  std::vector<size_t> slices;
  for (size_t i = 1; i < n; ++i)
    if (is_ts(i - 1) && is_ts(i)) slices.push_back(i);
  if (!slices.empty()) {
    if (single_ending) slices.push_back(n);
    size_t last = 0;
    for (size_t cur : slices) {
      ParsedSegment s;
      s.tokens.assign(tokens.begin() + static_cast<std::ptrdiff_t>(last),
                      tokens.begin() + static_cast<std::ptrdiff_t>(cur));
      s.start = tok.timestamp_of(s.tokens.front());
      s.end = tok.timestamp_of(s.tokens.back());
      out.segments.push_back(std::move(s));
      last = cur;
    }
    // Resume at the last complete timestamp; unfinished text after it is
    // decoded again in the next window.
    const double t = tok.timestamp_of(tokens[last - 1]);
    out.seek_advance = static_cast<int>(std::lround(t * kFramesPerSecond));
  } else {
    double duration = window_frames / static_cast<double>(kFramesPerSecond);
    int last_ts = -1;
    for (size_t i = 0; i < n; ++i)
      if (is_ts(i)) last_ts = tokens[i];
    if (last_ts >= 0 && last_ts != tok.special().timestamp_begin) duration = tok.timestamp_of(last_ts);
    ParsedSegment s;
    s.tokens.assign(tokens.begin(), tokens.end());
    s.start = 0;
    s.end = duration;
    if (!s.tokens.empty()) out.segments.push_back(std::move(s));
    out.seek_advance = window_frames;
  }
  if (out.seek_advance <= 0 || out.seek_advance > window_frames) out.seek_advance = window_frames;
  return out;
}

Result<Transcript> transcribe_long(DecoderBackend& backend, const Decoder& decoder, int64_t n_samples,
                                   double time_offset) {
  const Tokenizer& tok = decoder.tokenizer();
  const DecodeOptions& opt = decoder.options();
  Transcript out;
  const int64_t content_frames = n_samples / kSamplesPerFrame;
  std::vector<int> all_tokens;
  if (!opt.initial_prompt.empty()) {
    SF_ASSIGN_OR_RETURN(all_tokens, tok.encode(" " + trim(opt.initial_prompt)));
  }
  size_t prompt_reset_since = 0;
  int language = -1;
  int64_t seek = 0;
  while (seek < content_frames) {
    const int size = static_cast<int>(std::min<int64_t>(kWindowFramesMel, content_frames - seek));
    AudioWindow w{seek * kSamplesPerFrame, static_cast<int64_t>(size) * kSamplesPerFrame, false};
    SF_RETURN_IF_ERROR(backend.encode({&w, 1}));
    if (language < 0) {
      SF_ASSIGN_OR_RETURN(language, resolve_language(backend, decoder));
      out.language = tok.language_code(language);
      if (out.language.empty()) out.language = "en";
    }
    WindowRequest req;
    req.window = 0;
    req.language_token = language;
    req.prompt.assign(all_tokens.begin() + static_cast<std::ptrdiff_t>(prompt_reset_since), all_tokens.end());
    SF_ASSIGN_OR_RETURN(std::vector<WindowResult> res, decoder.decode_with_fallback(backend, {&req, 1}));
    const WindowResult& r = res[0];
    const double window_start = static_cast<double>(seek) / kFramesPerSecond;
    if (decoder.is_silence(r)) {
      SF_LOG_DEBUG("whisper: no speech at {:.2f}s (p={:.2f})", window_start, r.no_speech_prob);
      seek += size;
      continue;
    }
    ParsedWindow parsed = parse_window(tok, r.tokens, size);
    SF_RETURN_IF_ERROR(emit_window(backend, decoder, 0, size, language, r, parsed, window_start, time_offset, &out));
    for (const auto& s : parsed.segments) all_tokens.insert(all_tokens.end(), s.tokens.begin(), s.tokens.end());
    if (!opt.condition_on_previous_text || r.temperature > 0.5) prompt_reset_since = all_tokens.size();
    seek += parsed.seek_advance;
  }
  return out;
}

Result<Transcript> transcribe_chunks(DecoderBackend& backend, const Decoder& decoder,
                                     std::span<const SpeechChunk> chunks, int batch_size, double time_offset) {
  const Tokenizer& tok = decoder.tokenizer();
  const DecodeOptions& opt = decoder.options();
  Transcript out;
  std::vector<int> prompt;
  if (!opt.initial_prompt.empty()) {
    SF_ASSIGN_OR_RETURN(prompt, tok.encode(" " + trim(opt.initial_prompt)));
  }
  const int per_batch = std::max(1, std::min({batch_size, backend.max_windows(),
                                              backend.kv_slots() / decoder.slots_per_window()}));
  int language = -1;
  for (size_t first = 0; first < chunks.size(); first += static_cast<size_t>(per_batch)) {
    const size_t n = std::min(chunks.size() - first, static_cast<size_t>(per_batch));
    std::vector<AudioWindow> windows;
    for (size_t k = 0; k < n; ++k) {
      const SpeechChunk& c = chunks[first + k];
      windows.push_back({c.start, c.end - c.start, true});
    }
    SF_RETURN_IF_ERROR(backend.encode(windows));
    if (language < 0) {
      SF_ASSIGN_OR_RETURN(language, resolve_language(backend, decoder));
      out.language = tok.language_code(language);
      if (out.language.empty()) out.language = "en";
    }
    std::vector<WindowRequest> reqs(n);
    for (size_t k = 0; k < n; ++k) reqs[k] = {static_cast<int>(k), prompt, language};
    SF_ASSIGN_OR_RETURN(std::vector<WindowResult> res, decoder.decode_with_fallback(backend, reqs));
    for (size_t k = 0; k < n; ++k) {
      if (decoder.is_silence(res[k])) continue;
      const int frames = static_cast<int>(
          std::min<int64_t>(kWindowFramesMel, (windows[k].n_samples + kSamplesPerFrame - 1) / kSamplesPerFrame));
      ParsedWindow parsed = parse_window(tok, res[k].tokens, frames);
      const double start = static_cast<double>(windows[k].start_sample) / (kSamplesPerFrame * kFramesPerSecond);
      SF_RETURN_IF_ERROR(emit_window(backend, decoder, static_cast<int>(k), frames, language, res[k], parsed,
                                     start, time_offset, &out));
    }
  }
  return out;
}

}  // namespace sf::asr::whisper
