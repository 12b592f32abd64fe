#include "core/json.h"

#include "core/utf8.h"

namespace sf {
namespace {

// Copies `j` only where a string must change, so the common all-valid case
// costs one scan and no copy.
bool needs_repair(const nlohmann::json& j) {
  if (j.is_string()) return !utf8::is_valid(j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (!utf8::is_valid(key) || needs_repair(value)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& value : j) {
      if (needs_repair(value)) return true;
    }
  }
  return false;
}

nlohmann::json repaired(const nlohmann::json& j) {
  if (j.is_string()) return utf8::to_valid(j.get_ref<const std::string&>());
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : j.items()) out[utf8::to_valid(key)] = repaired(value);
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& value : j) out.push_back(repaired(value));
    return out;
  }
  return j;
}

}  // namespace

std::string dump_json(const nlohmann::json& j, int indent) {
  // The replace handler is a second guard: after repair every string is
  // valid, so it never fires.
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (!needs_repair(j)) return j.dump(indent, ' ', false, kReplace);
  return repaired(j).dump(indent, ' ', false, kReplace);
}

}  // namespace sf
