// Writing float32 arrays as NumPy .npy files (format version 1.0), for
// verification tools and tests.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace sf::asr::whisper {

// Writes `data` (row-major, C order) with the given shape to `path` as a
// little-endian float32 .npy file. The file is written under a temporary
// name and renamed when complete. Errors: kInvalidArgument when the shape
// does not match data.size(); kPermission when the file cannot be written.
Status write_npy(const std::string& path, std::span<const float> data, const std::vector<size_t>& shape);

}  // namespace sf::asr::whisper
