#include "asr/whisper/alignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "asr/whisper/utf8.h"

namespace sf::asr::whisper {
namespace {

constexpr char32_t kReplacement = 0xFFFD;
constexpr std::string_view kAsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

std::string_view strip(std::string_view s) {
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

// Whisper tests membership with Python's substring `in`; the empty string
// is in every string.
bool contained_in(std::string_view needle, std::string_view hay) {
  return hay.find(needle) != std::string_view::npos;
}

void split_on_unicode(const Tokenizer& tok, std::span<const int> tokens, std::vector<std::string>* words,
                      std::vector<std::vector<int>>* word_tokens) {
  const std::vector<char32_t> full = utf8::decode(tok.decode(tokens, true));
  std::vector<int> current;
  size_t offset = 0;
  for (int t : tokens) {
    current.push_back(t);
    std::string text = tok.decode(current, true);
    std::vector<char32_t> cps = utf8::decode(text);
    auto pos = std::find(cps.begin(), cps.end(), kReplacement);
    bool complete = pos == cps.end();
    if (!complete) {
      size_t at = offset + static_cast<size_t>(pos - cps.begin());
      complete = at < full.size() && full[at] == kReplacement;
    }
    if (complete) {
      words->push_back(std::move(text));
      word_tokens->push_back(current);
      current.clear();
      offset += cps.size();
    }
  }
}

}  // namespace

void dtw(std::span<const float> x, int n, int m, std::vector<int>* rows, std::vector<int>* cols) {
  const size_t W = static_cast<size_t>(m) + 1;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> cost((static_cast<size_t>(n) + 1) * W, inf);
  std::vector<signed char> trace((static_cast<size_t>(n) + 1) * W, -1);
  cost[0] = 0;
  for (int j = 1; j <= m; ++j) {
    for (int i = 1; i <= n; ++i) {
      const size_t at = static_cast<size_t>(i) * W + static_cast<size_t>(j);
      const double c0 = cost[at - W - 1], c1 = cost[at - W], c2 = cost[at - 1];
      double c;
      signed char t;
      if (c0 < c1 && c0 < c2) {
        c = c0, t = 0;
      } else if (c1 < c0 && c1 < c2) {
        c = c1, t = 1;
      } else {
        c = c2, t = 2;
      }
      cost[at] = x[static_cast<size_t>(i - 1) * static_cast<size_t>(m) + static_cast<size_t>(j - 1)] + c;
      trace[at] = t;
    }
  }
  for (int j = 0; j <= m; ++j) trace[static_cast<size_t>(j)] = 2;
  for (int i = 0; i <= n; ++i) trace[static_cast<size_t>(i) * W] = 1;
  rows->clear();
  cols->clear();
  int i = n, j = m;
  while (i > 0 || j > 0) {
    rows->push_back(i - 1);
    cols->push_back(j - 1);
    const signed char t = trace[static_cast<size_t>(i) * W + static_cast<size_t>(j)];
    if (t == 0) {
      --i, --j;
    } else if (t == 1) {
      --i;
    } else {
      --j;
    }
  }
  std::reverse(rows->begin(), rows->end());
  std::reverse(cols->begin(), cols->end());
  // The backtrace ends on the virtual row/column -1; drop those points.
  size_t k = 0;
  while (k < rows->size() && ((*rows)[k] < 0 || (*cols)[k] < 0)) ++k;
  rows->erase(rows->begin(), rows->begin() + static_cast<std::ptrdiff_t>(k));
  cols->erase(cols->begin(), cols->begin() + static_cast<std::ptrdiff_t>(k));
}

void median_filter(std::vector<float>* x, int rows, int cols, int width) {
  const int pad = width / 2;
  if (cols <= pad) return;
  std::vector<float> padded(static_cast<size_t>(cols + 2 * pad));
  std::vector<float> win(static_cast<size_t>(width));
  for (int r = 0; r < rows; ++r) {
    float* row = x->data() + static_cast<size_t>(r) * static_cast<size_t>(cols);
    for (int k = 0; k < cols + 2 * pad; ++k) {
      int src = k - pad;
      if (src < 0) src = -src;
      if (src >= cols) src = 2 * (cols - 1) - src;
      padded[static_cast<size_t>(k)] = row[std::clamp(src, 0, cols - 1)];
    }
    for (int c = 0; c < cols; ++c) {
      std::copy(padded.begin() + c, padded.begin() + c + width, win.begin());
      std::nth_element(win.begin(), win.begin() + pad, win.end());
      row[c] = win[static_cast<size_t>(pad)];
    }
  }
}

void split_to_word_tokens(const Tokenizer& tok, std::span<const int> tokens, std::string_view language,
                          std::vector<std::string>* words, std::vector<std::vector<int>>* word_tokens) {
  words->clear();
  word_tokens->clear();
  if (language == "zh" || language == "ja" || language == "th" || language == "lo" || language == "my" ||
      language == "yue") {
    split_on_unicode(tok, tokens, words, word_tokens);
    return;
  }
  std::vector<std::string> subwords;
  std::vector<std::vector<int>> subword_tokens;
  split_on_unicode(tok, tokens, &subwords, &subword_tokens);
  for (size_t i = 0; i < subwords.size(); ++i) {
    const bool special = subword_tokens[i][0] >= tok.special().eot;
    const bool with_space = !subwords[i].empty() && subwords[i][0] == ' ';
    const bool punctuation = contained_in(strip(subwords[i]), kAsciiPunctuation);
    if (special || with_space || punctuation || words->empty()) {
      words->push_back(subwords[i]);
      word_tokens->push_back(subword_tokens[i]);
    } else {
      words->back() += subwords[i];
      auto& wt = word_tokens->back();
      wt.insert(wt.end(), subword_tokens[i].begin(), subword_tokens[i].end());
    }
  }
}

void merge_punctuations(std::vector<WordTiming>* words, std::string_view prepend, std::string_view append) {
  auto& w = *words;
  if (w.size() < 2) return;
  auto move_into = [](WordTiming& from, WordTiming& to, bool before) {
    if (before) {
      to.word = from.word + to.word;
      to.tokens.insert(to.tokens.begin(), from.tokens.begin(), from.tokens.end());
      to.token_probs.insert(to.token_probs.begin(), from.token_probs.begin(), from.token_probs.end());
    } else {
      to.word += from.word;
      to.tokens.insert(to.tokens.end(), from.tokens.begin(), from.tokens.end());
      to.token_probs.insert(to.token_probs.end(), from.token_probs.begin(), from.token_probs.end());
    }
    from.word.clear();
    from.tokens.clear();
    from.token_probs.clear();
  };
  // Opening marks join the word after them.
  for (int i = static_cast<int>(w.size()) - 2, j = static_cast<int>(w.size()) - 1; i >= 0; --i) {
    WordTiming& prev = w[static_cast<size_t>(i)];
    if (!prev.word.empty() && prev.word[0] == ' ' && contained_in(strip(prev.word), prepend)) {
      move_into(prev, w[static_cast<size_t>(j)], true);
    } else {
      j = i;
    }
  }
  // Closing marks join the word before them.
  for (size_t i = 0, j = 1; j < w.size(); ++j) {
    WordTiming& prev = w[i];
    WordTiming& next = w[j];
    if ((prev.word.empty() || prev.word.back() != ' ') && contained_in(next.word, append)) {
      move_into(next, prev, false);
    } else {
      i = j;
    }
  }
}

std::vector<WordTiming> find_alignment(const Tokenizer& tok, std::span<const int> text_tokens,
                                       std::span<const float> token_probs,
                                       std::span<const float> attention, int n_heads, int n_ctx,
                                       int n_frames, std::string_view language) {
  const int n_rows = static_cast<int>(text_tokens.size()) + 1;
  n_frames = std::clamp(n_frames, 1, n_ctx);
  if (text_tokens.empty() || n_heads <= 0 ||
      attention.size() < static_cast<size_t>(n_heads) * static_cast<size_t>(n_rows) * static_cast<size_t>(n_ctx))
    return {};
  const size_t R = static_cast<size_t>(n_rows), F = static_cast<size_t>(n_frames);
  std::vector<float> matrix(R * F, 0.0f);
  std::vector<float> w(R * F);
  for (int h = 0; h < n_heads; ++h) {
    for (size_t r = 0; r < R; ++r) {
      const float* src = attention.data() + (static_cast<size_t>(h) * R + r) * static_cast<size_t>(n_ctx);
      double sum = 0;
      for (size_t f = 0; f < F; ++f) sum += src[f];
      const double inv = sum > 0 ? 1.0 / sum : 0.0;
      for (size_t f = 0; f < F; ++f) w[r * F + f] = static_cast<float>(src[f] * inv);
    }
    // Standardise each frame's column over the tokens.
    for (size_t f = 0; f < F; ++f) {
      double mean = 0, var = 0;
      for (size_t r = 0; r < R; ++r) mean += w[r * F + f];
      mean /= static_cast<double>(R);
      for (size_t r = 0; r < R; ++r) var += (w[r * F + f] - mean) * (w[r * F + f] - mean);
      const double sd = std::sqrt(var / static_cast<double>(R));
      for (size_t r = 0; r < R; ++r)
        w[r * F + f] = sd > 1e-12 ? static_cast<float>((w[r * F + f] - mean) / sd) : 0.0f;
    }
    median_filter(&w, n_rows, n_frames, 7);
    for (size_t k = 0; k < R * F; ++k) matrix[k] += w[k] / static_cast<float>(n_heads);
  }
  for (float& v : matrix) v = -v;
  std::vector<int> rows, cols;
  dtw(matrix, n_rows, n_frames, &rows, &cols);

  std::vector<int> with_eot(text_tokens.begin(), text_tokens.end());
  with_eot.push_back(tok.special().eot);
  std::vector<std::string> words;
  std::vector<std::vector<int>> word_tokens;
  split_to_word_tokens(tok, with_eot, language, &words, &word_tokens);
  if (word_tokens.size() <= 1) return {};

  std::vector<double> jump_times;  // first frame of each row, in seconds
  for (size_t k = 0; k < rows.size(); ++k) {
    if (k == 0 || rows[k] != rows[k - 1]) jump_times.push_back(cols[k] / kEncoderFramesPerSecond);
  }
  std::vector<WordTiming> out;
  size_t boundary = 0;
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    const size_t next = boundary + word_tokens[i].size();
    WordTiming t;
    t.word = words[i];
    t.tokens = word_tokens[i];
    for (size_t k = boundary; k < next && k < token_probs.size(); ++k) t.token_probs.push_back(token_probs[k]);
    t.start = boundary < jump_times.size() ? jump_times[boundary] : jump_times.back();
    t.end = next < jump_times.size() ? jump_times[next] : jump_times.back();
    out.push_back(std::move(t));
    boundary = next;
  }
  merge_punctuations(&out);
  std::vector<WordTiming> kept;
  for (auto& t : out) {
    if (t.word.empty()) continue;
    double sum = 0;
    for (float p : t.token_probs) sum += p;
    t.probability = t.token_probs.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(t.token_probs.size()));
    kept.push_back(std::move(t));
  }
  return kept;
}

}  // namespace sf::asr::whisper
