// Writing transcripts as JSON, SRT, WebVTT and plain text.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "asr/engine.h"
#include "core/status.h"

namespace sf::asr {

enum class TranscriptFormat { kJson, kSrt, kVtt, kTxt };

// "json" | "srt" | "vtt" | "txt"; kInvalidArgument naming the value otherwise.
Result<TranscriptFormat> parse_transcript_format(std::string_view name);
std::string_view extension(TranscriptFormat f);  // ".json" ...

// {"language", "segments": [{start, end, text, words: [{word, start, end, probability}]}]}
nlohmann::json to_json(const Transcript& t);
// The inverse of to_json(): to_json(*from_json(to_json(t))) == to_json(t),
// every time and probability exactly (doubles survive JSON text). Errors:
// kCorrupt naming the field that is missing or of the wrong type.
Result<Transcript> transcript_from_json(const nlohmann::json& j);
std::string to_srt(const Transcript& t);
std::string to_vtt(const Transcript& t);
std::string to_txt(const Transcript& t);  // one segment per line
std::string render(const Transcript& t, TranscriptFormat f, const nlohmann::json& extra = {});

}  // namespace sf::asr
