#include "asr/whisper/model/model.h"

#include <array>

namespace sf::asr::whisper {

namespace {

constexpr std::array<const char*, 100> kLanguageCodes = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar",
    "sv", "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu",
    "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa",
    "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn",
    "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc",
    "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn",
    "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw",
    "su", "yue"};

}  // namespace

std::span<const char* const> whisper_language_codes() { return kLanguageCodes; }

int GenerationConfig::language_token(std::string_view code) const {
  for (const auto& [c, id] : lang_to_id) {
    if (c == code) return id;
  }
  return -1;
}

struct Model::MappedFile {};

Model::~Model() = default;

std::vector<AlignmentHead> Model::alignment_heads() const {
  if (!generation_.alignment_heads.empty()) return generation_.alignment_heads;
  std::vector<AlignmentHead> heads;
  for (int l = hparams_.n_text_layer / 2; l < hparams_.n_text_layer; ++l) {
    for (int h = 0; h < hparams_.n_text_head; ++h) heads.push_back({l, h});
  }
  return heads;
}

Result<std::shared_ptr<const Model>> Model::load(const std::string& path) {
  return unsupported(path + ": Whisper model loading is not implemented yet");
}

}  // namespace sf::asr::whisper
