// Whisper transcription of a whole recording, over a DecoderBackend:
//
//  * transcribe_long(): Whisper's sequential long-form algorithm. 30-s
//    windows from a seek position; after each window the seek moves to the
//    last timestamp when the output ends with a single timestamp or with a
//    closed pair of timestamps followed by unfinished text, and by the whole
//    window otherwise. Temperature fallback, the no-speech skip, and the
//    previous text as prompt (reset after a hot fallback).
//  * transcribe_chunks(): the batched pipeline. VAD chunks of <= 30 s are
//    decoded `batch_size` at a time with no conditioning between chunks;
//    their timestamps are offset by each chunk's start.
//
// Both return segments with words (times absolute: time_offset + position),
// word times from cross-attention when options().word_timestamps, otherwise
// spread over the segment in proportion to their length.
#pragma once

#include <span>

#include "asr/engine.h"
#include "asr/whisper/decoder.h"
#include "asr/whisper/vad.h"

namespace sf::asr::whisper {

// Segments of one decoded window: token runs between timestamp pairs.
struct ParsedSegment {
  double start = 0;  // seconds from the window start
  double end = 0;
  std::vector<int> tokens;  // with the timestamp tokens
};
struct ParsedWindow {
  std::vector<ParsedSegment> segments;
  int seek_advance = 0;  // mel frames to move the seek by
};
// Splits `tokens` (no eot) of a window of `window_frames` mel frames into
// segments and says how far to seek. Exposed for tests.
ParsedWindow parse_window(const Tokenizer& tok, std::span<const int> tokens, int window_frames);

Result<Transcript> transcribe_long(DecoderBackend& backend, const Decoder& decoder, int64_t n_samples,
                                   double time_offset);

Result<Transcript> transcribe_chunks(DecoderBackend& backend, const Decoder& decoder,
                                     std::span<const SpeechChunk> chunks, int batch_size, double time_offset);

}  // namespace sf::asr::whisper
