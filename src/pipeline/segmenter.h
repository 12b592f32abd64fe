// Splitting a stream of 16 kHz audio into segments at silences.
//
// Segments are what transcription workers process independently, so a cut
// must not fall inside a word: the segmenter cuts at the first pause of at
// least `min_pause` after `min_length`, and if none comes before
// `max_length`, at the quietest 100 ms inside the last third of the window.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

namespace sf::pipeline {

struct SegmenterOptions {
  int sample_rate = 16000;
  double min_length = 4.0;   // seconds before a pause may end a segment
  double max_length = 30.0;  // hard limit of one segment
  double min_pause = 0.25;   // seconds of quiet that make a pause
};

struct AudioSegment {
  int64_t first_sample = 0;  // position of the segment's first sample in the input
  int64_t length = 0;        // samples the segment covers
  // The segment's samples (length of them); empty when `silent`: digital
  // silence is never looked at again.
  std::vector<float> samples;
  bool silent = false;       // nothing above -60 dBFS
  // The part holding sound, as sound_bounds() finds it (from the levels
  // the segmenter measured already): [sound_begin, sound_end) relative to
  // first_sample; empty when the segment is silent or only quiet.
  size_t sound_begin = 0;
  size_t sound_end = 0;
};

// The part of `samples` that holds sound: from 0.2 s before the first loud
// 10 ms frame to 0.2 s after the last (quiet is judged as in the segmenter).
// Returns [begin, end) sample indices; begin == end when all is quiet.
std::pair<size_t, size_t> sound_bounds(std::span<const float> samples, int sample_rate);

// Streaming segmenter. Not thread-safe. Feed blocks with push(); each
// complete segment is handed to the callback; finish() flushes the rest.
// Each 10 ms frame's level is measured once, when its samples arrive; the
// memory held is at most one max_length window.
class Segmenter {
 public:
  using Sink = std::function<void(AudioSegment)>;
  Segmenter(SegmenterOptions options, Sink sink);

  void push(std::span<const float> block);
  void finish();

 private:
  void cut(size_t at);
  size_t find_cut() const;
  void measure_new_frames();

  SegmenterOptions opt_;
  Sink sink_;
  size_t flen_;                // samples per 10 ms frame
  std::vector<float> buf_;     // samples not yet emitted
  std::vector<float> db_;      // level of each whole frame of buf_, dBFS
  int64_t buf_start_ = 0;      // input position of buf_[0]
};

}  // namespace sf::pipeline
