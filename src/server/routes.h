// The routes above the core service: the OpenAI-compatible transcription
// API (server/openai.h), the machine's state and the web page with its
// static files, built into the binary (server/web_assets.h):
//   GET /                  the page (no token needed: it holds no data, and asks for the token)
//   GET /static/<file>     its script and style sheet (no token needed)
//   GET /system            {"model", "workers": the pool's status (null without a pool),
//                           "gpus": [{index, name, memory_total_bytes, memory_used_bytes,
//                           utilization_percent, temperature_celsius}], "cuda_status", "nvml_status"}
#pragma once

#include <nlohmann/json.hpp>

namespace sf::server {

class HttpService;

// Adds them to `http` (before listen()).
void add_api_routes(HttpService& http);

// The body of GET /system now.
nlohmann::json system_json(HttpService& http);

}  // namespace sf::server
