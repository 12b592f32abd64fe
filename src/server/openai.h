// The OpenAI-compatible transcription API, over the service's engine, its
// shared worker pool and its transcript library.
//
//   POST /v1/audio/transcriptions   multipart/form-data (as the official
//                                   OpenAI clients send it)
//   POST /v1/audio/translations     the same with task "translate" (whisper only)
//   GET  /v1/models                 {"object": "list", "data": [{"id", "object": "model", ...}]}
//
// Form fields: `file` (required; any medium libav reads), `model` (optional;
// "whisper-1" or an id from /v1/models means the server's engine and model),
// `language`, `prompt`, `response_format` (json | text | srt | verbose_json |
// vtt; default json), `temperature` (0..1), `timestamp_granularities[]`
// (word and/or segment, repeated; verbose_json only; without it: segment).
//
// Answers: json {"text"}; text, srt and vtt as text; verbose_json {task,
// language, duration, text, segments: [{id, seek, start, end, text, tokens,
// temperature, avg_logprob, compression_ratio, no_speech_prob}], words:
// [{word, start, end}] when asked}. Errors are OpenAI's shape {"error":
// {"message", "type", "param", "code"}}: 400 for a bad or missing field or
// a file that is not media, 413 for an upload over the service's limit,
// 500 for faults of the server.
//
// The upload is written to a temporary file under <data>/uploads (removed
// when the request ends); many requests are transcribed at once, their
// segments sharing the service's worker pool.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/transcriber.h"

namespace httplib {
struct Response;
}

namespace sf::server {

class HttpService;

// Adds the routes above to `http` (before listen()), and removes uploads
// left under <data>/uploads by a server that was killed mid-request.
void add_openai_routes(HttpService& http);

// Answers `res` with OpenAI's error shape and `code`. `param` may be empty
// (null in the body); `type` is "invalid_request_error" for 4xx unless
// given, "server_error" for 5xx.
void openai_error(httplib::Response& res, int code, const std::string& message, const std::string& param = "",
                  const std::string& error_code = "");

// What a request asked for, beyond the audio.
struct OpenAiAnswer {
  std::string task = "transcribe";   // or "translate"
  std::string format = "json";       // json | text | srt | verbose_json | vtt
  double temperature = 0;
  bool words = false;                // timestamp_granularities[] has "word"
  bool segments = true;              // ... has "segment" (or none was given)
};

// The body of the answer for `input` (content type in `*content_type`).
std::string render_openai(const pipeline::InputTranscript& input, const OpenAiAnswer& answer,
                          std::string* content_type);

}  // namespace sf::server
