// Decoding the audio of any input to 16 kHz mono float, in memory, in
// blocks: memory stays bounded however long the input is. No temporary
// files, no subprocesses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::media {

// Streams the best audio stream of one input as mono float samples at a
// fixed rate. Not thread-safe; one reader per thread.
class AudioReader {
 public:
  // Opens `path`. Errors name the path: kNotFound, kPermission, kBadMedia
  // (not media, or no audio stream: "has no audio stream").
  static Result<std::unique_ptr<AudioReader>> open(const std::string& path, int sample_rate = 16000);
  ~AudioReader();
  AudioReader(const AudioReader&) = delete;
  AudioReader& operator=(const AudioReader&) = delete;

  // Fills up to out.size() samples; returns how many were written, 0 at the
  // end of the stream. Sample n is at n / rate seconds of *file time*: the
  // stream's timestamps minus the container's start time, as a player
  // shows it (a transport stream whose clock starts at 3600 s reads like
  // the same content starting at 0).
  //
  // Every decoded frame is placed by its timestamp: audio before file time
  // 0 is dropped, a hole (lost packets, a late start) becomes silence of
  // the same length, a frame overlapping audio already read loses the
  // overlapping part, and differences under 10 ms are treated as
  // contiguous so clock jitter never adds or drops samples. Frames without
  // a timestamp follow the previous one. In formats whose clock may restart
  // (MPEG-TS/PS), a backward jump of more than 1 s is taken as a restart:
  // the audio after it follows on contiguously. Raw elementary streams
  // (ADTS, MP3, AC-3, FLAC files) carry no timestamps of their own: their
  // frames follow each other.
  //
  // Any codec libav decodes works, and the format may change mid-stream
  // (sample rate, channel count, layout: captures joined byte by byte): the
  // resampler is rebuilt at the change without a shift in time. Down-mixing
  // keeps a centre-only voice (5.1, 7.1 film sound) at its level; stereo
  // channels each count -3 dB. Errors (kBadMedia, kInternal) name the path.
  Result<size_t> read(std::span<float> out);

  int sample_rate() const;
  double duration() const;    // seconds, from the container; 0 if unknown
  double start_time() const;  // the container's start time (stream seconds at file time 0)

 private:
  struct Impl;
  explicit AudioReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes a whole input to mono float at `sample_rate`. For short inputs
// and tests; long inputs should stream with AudioReader.
Result<std::vector<float>> decode_audio(const std::string& path, int sample_rate = 16000);

}  // namespace sf::media
