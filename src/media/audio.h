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
  // end of the stream. Samples are continuous from the file's start
  // (leading gaps are filled with silence so sample n is at n / rate s).
  Result<size_t> read(std::span<float> out);

  int sample_rate() const;
  double duration() const;  // seconds, from the container; 0 if unknown

 private:
  struct Impl;
  explicit AudioReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes a whole input to mono float at `sample_rate`. For short inputs
// and tests; long inputs should stream with AudioReader.
Result<std::vector<float>> decode_audio(const std::string& path, int sample_rate = 16000);

}  // namespace sf::media
