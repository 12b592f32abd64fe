// Word timestamps from the decoder's cross-attention, as Whisper computes
// them: the alignment heads' attention over the audio frames is normalised
// per head (standardised over tokens), median-filtered (width 7) along time,
// averaged over heads, and a dynamic-time-warping path through its negation
// maps each token to a span of encoder frames (20 ms each). Tokens are then
// grouped into words (at spaces, or per character for languages written
// without spaces), punctuation is merged into neighbouring words, and each
// word's probability is the mean of its tokens' probabilities.
//
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "asr/whisper/tokenizer.h"

namespace sf::asr::whisper {

inline constexpr double kEncoderFramesPerSecond = 50.0;

struct WordTiming {
  std::string word;         // with its leading space, as decoded
  std::vector<int> tokens;
  std::vector<float> token_probs;
  double start = 0;         // seconds from the window start
  double end = 0;
  float probability = 0;
};

// Dynamic time warping through `cost` (n x m, row-major) from (0, 0) to
// (n-1, m-1) with steps down, right and diagonal; returns the path as row
// and column indices in order.
void dtw(std::span<const float> cost, int n, int m, std::vector<int>* rows, std::vector<int>* cols);

// Median filter of width `width` (odd) along each row of `x` (rows x cols),
// reflecting at the edges; rows no longer than width / 2 are left alone.
void median_filter(std::vector<float>* x, int rows, int cols, int width);

// Splits tokens (text tokens, possibly ending in eot) into words: at
// spaces and punctuation for space-delimited languages, at each complete
// character for zh, ja, th, lo, my and yue.
void split_to_word_tokens(const Tokenizer& tok, std::span<const int> tokens, std::string_view language,
                          std::vector<std::string>* words, std::vector<std::vector<int>>* word_tokens);

inline constexpr std::string_view kPrependPunctuations = "\"'“¿([{-";
inline constexpr std::string_view kAppendPunctuations = "\"'.。,，!！?？:：”)]}、";

// Merges opening punctuation into the following word and closing
// punctuation into the preceding one; merged-away entries become empty.
void merge_punctuations(std::vector<WordTiming>* words, std::string_view prepend = kPrependPunctuations,
                        std::string_view append = kAppendPunctuations);

// Aligns `text_tokens` (no timestamps, no eot) to audio.
//   attention: n_heads x (text_tokens.size() + 1) x n_ctx cross-attention
//     probabilities; row 0 is the query of the token before the first text
//     token (<|notimestamps|>), row i the query of text token i - 1.
//   n_frames: encoder frames holding real audio (<= n_ctx); attention is
//     renormalised over them.
//   token_probs: the probability of each text token when it was decoded.
// Returns the words (punctuation merged, empty entries dropped) with times
// relative to the window start. Empty when there are no words.
std::vector<WordTiming> find_alignment(const Tokenizer& tok, std::span<const int> text_tokens,
                                       std::span<const float> token_probs,
                                       std::span<const float> attention, int n_heads, int n_ctx,
                                       int n_frames, std::string_view language);

}  // namespace sf::asr::whisper
