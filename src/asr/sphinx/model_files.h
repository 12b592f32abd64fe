// Reading PocketSphinx's binary model files (internal to asr/sphinx).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sf::asr::sphinx {

// The bytes of `file`. Errors: kNotFound when it is missing, kCorrupt when
// it cannot be read.
Result<std::string> read_model_file(const std::filesystem::path& file);

// Reads little- or big-endian 32-bit words of `bytes`, bounds-checked.
class WordReader {
 public:
  WordReader(const std::string& bytes, bool swap) : bytes_(bytes), swap_(swap) {}
  bool u32(size_t at, uint32_t* out) const {
    if (at + 4 > bytes_.size()) return false;
    uint32_t v = 0;
    std::memcpy(&v, bytes_.data() + at, 4);
    if (swap_) v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    *out = v;
    return true;
  }
  bool i32(size_t at, int32_t* out) const {
    uint32_t v = 0;
    if (!u32(at, &v)) return false;
    *out = static_cast<int32_t>(v);
    return true;
  }
  bool f32(size_t at, float* out) const {
    uint32_t v = 0;
    if (!u32(at, &v)) return false;
    std::memcpy(out, &v, 4);
    return true;
  }

 private:
  const std::string& bytes_;
  bool swap_;
};

// Where the values of a parameter file in PocketSphinx's binary layout (a
// text header from "s3" to "endhdr\n", then the byte-order word
// 0x11223344) begin, and whether its words are byte-swapped. On failure,
// the reason ("no s3 header", ...).
struct ParameterLayout {
  size_t data = 0;  // just past the byte-order word
  bool swap = false;
};
Result<ParameterLayout> parameter_layout(const std::string& bytes);

}  // namespace sf::asr::sphinx
