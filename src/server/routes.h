// The routes above the core service: the OpenAI-compatible transcription
// API (/v1/audio/transcriptions, /v1/audio/translations, /v1/models) and
// the web page at / with its static files, built into the binary.
#pragma once

namespace sf::server {

class HttpService;

// Adds them to `http` (before listen()).
void add_api_routes(HttpService& http);

}  // namespace sf::server
