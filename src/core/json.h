// JSON text that is always valid, whatever bytes its strings hold.
//
// nlohmann::json stores strings as given and throws at dump() when one is
// not UTF-8, which file names from old archives (Latin-1) and engine output
// can be. Every JSON the program writes goes through dump_json().
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sf {

// `j` as JSON text (indented by `indent` spaces; -1: one line). Strings and
// object keys that are not valid UTF-8 are written as read by
// utf8::to_valid() (each invalid byte as its Windows-1252 character: a
// Latin-1 "caf\xE9.mp4" is written "café.mp4"). Never throws for encoding
// reasons; thread-safe.
std::string dump_json(const nlohmann::json& j, int indent = -1);

}  // namespace sf
