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

// A place where an engine's targeted search (EngineOptions::target_words)
// heard one of the target phrases, with the evidence for it. Not a word of
// the transcript: hits are candidates, weighed into one confidence by
// search/fusion.h. Evidence fields are engine-specific scores that fusion
// knows how to read; both are optional.
struct TargetHit {
  std::string query;  // the target phrase, as given in target_words (normalized tokens)
  double start = 0;   // seconds, absolute
  double end = 0;
  int phones = 0;     // the phrase's length in phones (0: unknown)
  // Keyword spotting: whether the spotter fired here, and its score: the
  // log-likelihood (natural log) of the phrase against the best free phone
  // sequence over the same frames, divided by `phones` (<= 0; closer to 0
  // is better).
  bool spotted = false;
  float spot_score = 0;
  // Posterior probability in [0, 1] of the phrase at this place in the
  // lattice of the normal decode (for a phrase: of its least likely word).
  float posterior = 0;
  // The same posterior in the lattice of a second decode of the audio
  // around the spotted places, whose language model gives the target
  // words a share of its probability everywhere (PocketSphinx: a unigram
  // model of the targets interpolated with the normal one).
  float biased_posterior = 0;
  // How long the acoustic model expects the phrase's phones to last, in
  // seconds (asr/sphinx/phone_durations.h; 0: unknown).
  float expected_seconds = 0;
  // The noise of the audio the phrase was heard in (the segment decoded),
  // as the engine measured it before decoding (asr/sphinx/denoise.h's
  // NoiseLevels): the SNR in dB (kCleanSnrDb when there was no noise to
  // measure, as in digital silence, or no measure was taken), and how far
  // the energies of its quietest frames spread, in dB (steady noise
  // spreads little; voices and music in the background spread more).
  // search::confidence() trusts the spotter more in moderate steady noise.
  static constexpr float kCleanSnrDb = 99;
  float snr_db = kCleanSnrDb;
  float noise_spread_db = 0;
};

struct Transcript {
  std::string language;  // "en", or the detected language
  std::vector<Segment> segments;
  // Targeted search hits, in time order (empty unless target words were
  // given to an engine that searches for them). Not part of the one-best
  // transcript: the library stores segments only.
  std::vector<TargetHit> hits;

  // All words of all segments, in time order.
  std::vector<Word> words() const;
  // Appends `other`'s segments and hits (caller keeps time order).
  void append(Transcript other);
};

}  // namespace sf::asr
