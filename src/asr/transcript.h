// Timed words: what speech recognition produces and everything downstream
// (matching, the library, formats) consumes. Plain values; no engine types.
#pragma once

#include <string>
#include <vector>

namespace sf::asr {

// Sample rate of the audio every engine takes.
inline constexpr int kSampleRate = 16000;

struct Word {
  std::string text;   // as recognised (original case/punctuation)
  double start = 0;   // seconds, absolute (includes the time offset)
  double end = 0;     // seconds, absolute
  float probability = 1.0f;  // confidence in [0, 1]
};

struct Segment {
  std::string text;
  double start = 0;
  double end = 0;
  std::vector<Word> words;
};

struct Transcript {
  std::string language;  // "en", or the detected language
  std::vector<Segment> segments;

  // All words of all segments, in time order.
  std::vector<Word> words() const;
  // Appends `other`'s segments (caller keeps time order).
  void append(Transcript other);
};

}  // namespace sf::asr
