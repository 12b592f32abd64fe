#include "asr/sphinx/model_files.h"

#include <fstream>
#include <iterator>

namespace sf::asr::sphinx {

Result<std::string> read_model_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return not_found("PocketSphinx model file " + file.string() + " is missing");
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return corrupt("cannot read " + file.string());
  return bytes;
}

Result<ParameterLayout> parameter_layout(const std::string& bytes) {
  if (bytes.compare(0, 3, "s3\n") != 0) return corrupt("no s3 header");
  const size_t header = bytes.find("endhdr\n");
  if (header == std::string::npos) return corrupt("the header does not end");
  const size_t at = header + 7;
  uint32_t order = 0;
  if (!WordReader(bytes, false).u32(at, &order)) return corrupt("no byte-order word");
  ParameterLayout layout;
  layout.data = at + 4;
  if (order == 0x44332211u) {
    layout.swap = true;
  } else if (order != 0x11223344u) {
    return corrupt("an unknown byte order");
  }
  return layout;
}

}  // namespace sf::asr::sphinx
