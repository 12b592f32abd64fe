#include "asr/whisper/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace sf::asr::whisper {

Status write_npy(const std::string& path, std::span<const float> data, const std::vector<size_t>& shape) {
  size_t count = 1;
  for (size_t d : shape) count *= d;
  if (count != data.size()) {
    return invalid_argument(path + ": shape holds " + std::to_string(count) + " values, data has " +
                            std::to_string(data.size()));
  }
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dict += ",";
    if (i + 1 < shape.size()) dict += " ";
  }
  dict += "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with
  // spaces and a newline to a multiple of 64 bytes.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  const uint16_t header_len = static_cast<uint16_t>(dict.size());

  const std::string tmp = path + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return permission_denied(path + ": cannot write");
    out.write("\x93NUMPY\x01\x00", 8);
    const char len[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
    out.write(len, 2);
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
    // Every platform we build on is little-endian, as '<f4' says.
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return permission_denied(path + ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return permission_denied(path + ": cannot rename into place: " + ec.message());
  }
  return {};
}

}  // namespace sf::asr::whisper
