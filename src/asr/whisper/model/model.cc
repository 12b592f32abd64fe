#include "asr/whisper/model/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "asr/whisper/cpu/kernels.h"
#include "core/log.h"

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

constexpr uint32_t kGgmlMagic = 0x67676d6c;

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      // Subnormal: renormalize into an f32 normal.
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Shapes compare equal when they agree after dropping size-1 dimensions
// (converters store a conv bias as [d, 1] or [d]).
bool same_shape(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  auto squeeze = [](const std::vector<int64_t>& s) {
    std::vector<int64_t> out;
    for (int64_t v : s) {
      if (v != 1) out.push_back(v);
    }
    return out;
  };
  return squeeze(a) == squeeze(b);
}

const char* type_name(WeightType t) {
  switch (t) {
    case WeightType::kF32: return "F32";
    case WeightType::kF16: return "F16";
    case WeightType::kBF16: return "BF16";
  }
  return "?";
}

size_t type_size(WeightType t) { return t == WeightType::kF32 ? 4 : 2; }

// Special tokens as Whisper's tokenizer lays them out for a vocabulary size.
GenerationConfig derive_generation(int n_vocab) {
  GenerationConfig g;
  g.is_multilingual = n_vocab >= 51865;
  g.num_languages = g.is_multilingual ? n_vocab - 51765 - 1 : 0;
  const int shift = g.is_multilingual ? 1 : 0;
  const int dt = g.is_multilingual ? g.num_languages - 98 : 0;
  g.eot = 50256 + shift;
  g.sot = 50257 + shift;
  g.translate = 50357 + dt;
  g.transcribe = 50358 + dt;
  g.sot_lm = 50359 + dt;
  g.sot_prev = 50360 + dt;
  g.no_speech = 50361 + dt;
  g.no_timestamps = 50362 + dt;
  g.timestamp_begin = 50363 + dt;
  const int langs = std::min<int>(g.num_languages, static_cast<int>(kLanguageCodes.size()));
  for (int i = 0; i < langs; ++i) g.lang_to_id.emplace_back(kLanguageCodes[static_cast<size_t>(i)], g.sot + 1 + i);
  g.begin_suppress_tokens = {220, g.eot};
  g.max_initial_timestamp_index = 50;
  g.suppress_tokens_from_vocab = true;
  return g;
}

}  // namespace

std::span<const char* const> whisper_language_codes() { return kLanguageCodes; }

int GenerationConfig::language_token(std::string_view code) const {
  for (const auto& [c, id] : lang_to_id) {
    if (c == code) return id;
  }
  return -1;
}

// A read-only mapping of a whole file.
struct Model::MappedFile {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ~MappedFile() {
    if (data != nullptr && size > 0) munmap(const_cast<uint8_t*>(data), size);
  }
};

// Builds a Model from one of the two formats. Tensors are described by a
// name -> (type, shape, bytes) table that each format fills; lookup()
// validates and converts them.
class ModelLoader {
 public:
  struct TensorInfo {
    WeightType type = WeightType::kF32;
    std::vector<int64_t> shape;  // PyTorch order (outermost first)
    const uint8_t* data = nullptr;
    size_t bytes = 0;
  };

  explicit ModelLoader(std::string path) : path_(std::move(path)) {}

  Result<std::shared_ptr<const Model>> load() {
    std::error_code ec;
    const std::filesystem::path p(path_);
    if (!std::filesystem::exists(p, ec)) return not_found(path_ + ": no such file or folder");
    model_.reset(new Model());
    model_->path_ = path_;
    if (std::filesystem::is_directory(p, ec)) {
      model_->source_dir_ = path_;
      model_->name_ = p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
      SF_RETURN_IF_ERROR(load_hf(p));
    } else {
      model_->source_dir_ = p.parent_path().empty() ? "." : p.parent_path().string();
      model_->name_ = p.stem().string();
      SF_ASSIGN_OR_RETURN(model_->mapped_, map_file(path_));
      const auto& mf = *model_->mapped_;
      uint32_t magic = 0;
      if (mf.size >= 4) std::memcpy(&magic, mf.data, 4);
      if (magic == kGgmlMagic) {
        SF_RETURN_IF_ERROR(load_ggml());
      } else if (p.extension() == ".safetensors") {
        // A weights file inside its Hugging Face folder.
        model_->mapped_.reset();
        model_->name_ = p.parent_path().filename().string();
        SF_RETURN_IF_ERROR(load_hf(p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path(), p));
      } else {
        return corrupt(path_ + ": not a Whisper model (no ggml magic 0x67676d6c, and not a folder with config.json)");
      }
    }
    SF_RETURN_IF_ERROR(bind_weights());
    return std::shared_ptr<const Model>(std::move(model_));
  }

 private:
static Result<std::unique_ptr<Model::MappedFile>> map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found(path + ": no such file");
    if (errno == EACCES) return permission_denied(path + ": permission denied");
    return not_found(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return internal_error(path + ": cannot stat: " + std::strerror(errno));
  }
  auto mf = std::make_unique<Model::MappedFile>();
  mf->size = static_cast<size_t>(st.st_size);
  if (mf->size > 0) {
    void* p = mmap(nullptr, mf->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return internal_error(path + ": cannot map: " + std::strerror(errno));
    }
    mf->data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return mf;
}



  // ---- Hugging Face ------------------------------------------------------

  Status load_hf(const std::filesystem::path& dir, std::filesystem::path weights = {}) {
    const std::string config_path = (dir / "config.json").string();
    SF_ASSIGN_OR_RETURN(nlohmann::json config, read_json(config_path, true));
    HParams& hp = model_->hparams_;
    auto get_int = [&](const char* key, int* out) -> Status {
      auto it = config.find(key);
      if (it == config.end() || !it->is_number_integer()) {
        return corrupt(config_path + ": missing or non-integer \"" + key + "\"");
      }
      *out = it->get<int>();
      return {};
    };
    SF_RETURN_IF_ERROR(get_int("vocab_size", &hp.n_vocab));
    SF_RETURN_IF_ERROR(get_int("num_mel_bins", &hp.n_mels));
    SF_RETURN_IF_ERROR(get_int("max_source_positions", &hp.n_audio_ctx));
    SF_RETURN_IF_ERROR(get_int("d_model", &hp.n_audio_state));
    SF_RETURN_IF_ERROR(get_int("encoder_attention_heads", &hp.n_audio_head));
    SF_RETURN_IF_ERROR(get_int("encoder_layers", &hp.n_audio_layer));
    SF_RETURN_IF_ERROR(get_int("max_target_positions", &hp.n_text_ctx));
    SF_RETURN_IF_ERROR(get_int("decoder_attention_heads", &hp.n_text_head));
    SF_RETURN_IF_ERROR(get_int("decoder_layers", &hp.n_text_layer));
    hp.n_text_state = hp.n_audio_state;
    SF_RETURN_IF_ERROR(check_hparams(config_path));

    model_->generation_ = derive_generation(hp.n_vocab);
    apply_generation_json(config);
    const std::string gen_path = (dir / "generation_config.json").string();
    SF_ASSIGN_OR_RETURN(nlohmann::json gen, read_json(gen_path, false));
    if (!gen.is_null()) apply_generation_json(gen);

    if (weights.empty()) weights = dir / "model.safetensors";
    weights_path_ = weights.string();
    SF_ASSIGN_OR_RETURN(model_->mapped_, map_file(weights_path_));
    model_->format_ = ModelFormat::kHuggingFace;
    return parse_safetensors();
  }

  Result<nlohmann::json> read_json(const std::string& path, bool required) {
    std::ifstream in(path);
    if (!in) {
      if (required) return not_found(path + ": missing (a Whisper model folder needs config.json)");
      return nlohmann::json();
    }
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return corrupt(path + ": not a JSON object");
    return j;
  }

  void apply_generation_json(const nlohmann::json& j) {
    GenerationConfig& g = model_->generation_;
    auto int_field = [&](const char* key, int* out) {
      auto it = j.find(key);
      if (it != j.end() && it->is_number_integer()) *out = it->get<int>();
    };
    auto int_list = [&](const char* key, std::vector<int>* out) {
      auto it = j.find(key);
      if (it == j.end() || !it->is_array()) return;
      out->clear();
      for (const auto& v : *it) {
        if (v.is_number_integer()) out->push_back(v.get<int>());
      }
    };
    int_field("eos_token_id", &g.eot);
    int_field("decoder_start_token_id", &g.sot);
    int_field("prev_sot_token_id", &g.sot_prev);
    if (auto it = j.find("no_timestamps_token_id"); it != j.end() && it->is_number_integer()) {
      g.no_timestamps = it->get<int>();
      g.timestamp_begin = g.no_timestamps + 1;
      g.no_speech = g.no_timestamps - 1;
      g.sot_prev = g.no_timestamps - 2;
      g.sot_lm = g.no_timestamps - 3;
    }
    int_field("max_initial_timestamp_index", &g.max_initial_timestamp_index);
    if (auto it = j.find("is_multilingual"); it != j.end() && it->is_boolean()) g.is_multilingual = it->get<bool>();
    if (auto it = j.find("task_to_id"); it != j.end() && it->is_object()) {
      if (auto t = it->find("transcribe"); t != it->end() && t->is_number_integer()) g.transcribe = t->get<int>();
      if (auto t = it->find("translate"); t != it->end() && t->is_number_integer()) g.translate = t->get<int>();
    }
    if (auto it = j.find("lang_to_id"); it != j.end() && it->is_object()) {
      std::vector<std::pair<std::string, int>> langs;
      for (auto kv = it->begin(); kv != it->end(); ++kv) {
        if (!kv.value().is_number_integer()) continue;
        std::string code = kv.key();
        if (code.size() > 4 && code.starts_with("<|") && code.ends_with("|>")) code = code.substr(2, code.size() - 4);
        langs.emplace_back(code, kv.value().get<int>());
      }
      std::sort(langs.begin(), langs.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      g.lang_to_id = std::move(langs);
      g.num_languages = static_cast<int>(g.lang_to_id.size());
    }
    if (j.contains("suppress_tokens")) {
      int_list("suppress_tokens", &g.suppress_tokens);
      g.suppress_tokens_from_vocab = false;
    }
    int_list("begin_suppress_tokens", &g.begin_suppress_tokens);
    if (auto it = j.find("alignment_heads"); it != j.end() && it->is_array()) {
      g.alignment_heads.clear();
      for (const auto& pair : *it) {
        if (pair.is_array() && pair.size() == 2 && pair[0].is_number_integer() && pair[1].is_number_integer()) {
          const int l = pair[0].get<int>();
          const int h = pair[1].get<int>();
          if (l >= 0 && l < model_->hparams_.n_text_layer && h >= 0 && h < model_->hparams_.n_text_head) {
            g.alignment_heads.push_back({l, h});
          }
        }
      }
    }
  }

  Status parse_safetensors() {
    const auto& mf = *model_->mapped_;
    const std::string& file = weights_path_;
    if (mf.size < 8) return corrupt(file + ": truncated (" + std::to_string(mf.size) + " bytes, no safetensors header)");
    uint64_t header_len = 0;
    std::memcpy(&header_len, mf.data, 8);
    if (header_len > mf.size - 8) {
      return corrupt(file + ": safetensors header length " + std::to_string(header_len) + " runs past the end of the file (" +
                     std::to_string(mf.size) + " bytes)");
    }
    const std::string_view text(reinterpret_cast<const char*>(mf.data + 8), header_len);
    nlohmann::json header = nlohmann::json::parse(text, nullptr, false);
    if (header.is_discarded() || !header.is_object()) return corrupt(file + ": safetensors header is not a JSON object");
    const size_t data_start = 8 + header_len;
    const size_t data_size = mf.size - data_start;
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__") continue;
      const std::string& name = it.key();
      const nlohmann::json& t = it.value();
      if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets")) {
        return corrupt(file + ": tensor '" + name + "' lacks dtype/shape/data_offsets");
      }
      if (!t["dtype"].is_string()) return corrupt(file + ": tensor '" + name + "' has a non-string dtype");
      const std::string dtype = t["dtype"].get<std::string>();
      TensorInfo info;
      if (dtype == "F32") {
        info.type = WeightType::kF32;
      } else if (dtype == "F16") {
        info.type = WeightType::kF16;
      } else if (dtype == "BF16") {
        info.type = WeightType::kBF16;
      } else {
        // Tensors we never read may have any type; only ours must be floats.
        unsupported_types_[name] = dtype;
        continue;
      }
      const auto& shape = t["shape"];
      const auto& offsets = t["data_offsets"];
      if (!shape.is_array() || !offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
          !offsets[1].is_number_unsigned()) {
        return corrupt(file + ": tensor '" + name + "' has a malformed shape or data_offsets");
      }
      uint64_t count = 1;
      for (const auto& d : shape) {
        if (!d.is_number_unsigned()) return corrupt(file + ": tensor '" + name + "' has a malformed shape");
        const uint64_t v = d.get<uint64_t>();
        if (v > (uint64_t{1} << 40) || (v != 0 && count > (uint64_t{1} << 40) / v)) {
          return corrupt(file + ": tensor '" + name + "' has an absurd shape");
        }
        count *= v;
        info.shape.push_back(static_cast<int64_t>(v));
      }
      const uint64_t begin = offsets[0].get<uint64_t>();
      const uint64_t end = offsets[1].get<uint64_t>();
      if (begin > end || end > data_size) {
        return corrupt(file + ": tensor '" + name + "' data [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") runs past the end of the file (" + std::to_string(data_size) + " data bytes; truncated?)");
      }
      if (end - begin != count * type_size(info.type)) {
        return corrupt(file + ": tensor '" + name + "' holds " + std::to_string(end - begin) + " bytes but " + dtype +
                       " " + shape_string(info.shape) + " needs " + std::to_string(count * type_size(info.type)));
      }
      info.data = mf.data + data_start + begin;
      info.bytes = end - begin;
      tensors_[name] = info;
    }
    prefix_ = tensors_.count("model.encoder.conv1.weight") || unsupported_types_.count("model.encoder.conv1.weight") ? "model." : "";
    return {};
  }

  // ---- ggml --------------------------------------------------------------

  // Sequential reader over the mapped file; every read is bounds-checked.
  struct Reader {
    const uint8_t* data;
    size_t size;
    size_t pos = 0;
    bool read(void* out, size_t n) {
      if (n > size - pos) return false;
      std::memcpy(out, data + pos, n);
      pos += n;
      return true;
    }
    bool skip(size_t n) {
      if (n > size - pos) return false;
      pos += n;
      return true;
    }
  };

  Status load_ggml() {
    const auto& mf = *model_->mapped_;
    const std::string& file = path_;
    weights_path_ = path_;
    model_->format_ = ModelFormat::kGgml;
    Reader r{mf.data, mf.size, 4};
    auto truncated = [&](const std::string& what) {
      return corrupt(file + ": truncated at byte " + std::to_string(r.pos) + " while reading " + what);
    };
    HParams& hp = model_->hparams_;
    int32_t v[11];
    if (!r.read(v, sizeof(v))) return truncated("the hyperparameters");
    hp.n_vocab = v[0];
    hp.n_audio_ctx = v[1];
    hp.n_audio_state = v[2];
    hp.n_audio_head = v[3];
    hp.n_audio_layer = v[4];
    hp.n_text_ctx = v[5];
    hp.n_text_state = v[6];
    hp.n_text_head = v[7];
    hp.n_text_layer = v[8];
    hp.n_mels = v[9];
    const int32_t ftype = v[10] % 1000;
    SF_RETURN_IF_ERROR(check_hparams(file));
    if (ftype != 0 && ftype != 1) {
      return unsupported(file + ": ggml weight type " + std::to_string(ftype) +
                         " (quantized) is not supported yet; use an f32 or f16 model");
    }

    int32_t n_mel = 0, n_fft = 0;
    if (!r.read(&n_mel, 4) || !r.read(&n_fft, 4)) return truncated("the mel filters");
    if (n_mel < 0 || n_fft < 0 || n_mel > 4096 || n_fft > 4096) return corrupt(file + ": implausible mel filter size");
    if (!r.skip(static_cast<size_t>(n_mel) * static_cast<size_t>(n_fft) * 4)) return truncated("the mel filters");

    int32_t n_tokens = 0;
    if (!r.read(&n_tokens, 4)) return truncated("the vocabulary size");
    if (n_tokens < 0 || n_tokens > hp.n_vocab) {
      return corrupt(file + ": vocabulary of " + std::to_string(n_tokens) + " tokens does not fit n_vocab " +
                     std::to_string(hp.n_vocab));
    }
    model_->ggml_vocab_.reserve(static_cast<size_t>(n_tokens));
    for (int i = 0; i < n_tokens; ++i) {
      uint32_t len = 0;
      if (!r.read(&len, 4)) return truncated("token " + std::to_string(i));
      if (len > r.size - r.pos) return truncated("token " + std::to_string(i));
      model_->ggml_vocab_.emplace_back(reinterpret_cast<const char*>(r.data + r.pos), len);
      r.pos += len;
    }
    model_->generation_ = derive_generation(hp.n_vocab);

    while (r.pos < r.size) {
      int32_t n_dims = 0, name_len = 0, ttype = 0;
      if (!r.read(&n_dims, 4) || !r.read(&name_len, 4) || !r.read(&ttype, 4)) return truncated("a tensor header");
      if (n_dims < 1 || n_dims > 4) return corrupt(file + ": tensor header at byte " + std::to_string(r.pos - 12) + " has " + std::to_string(n_dims) + " dimensions");
      if (name_len < 1 || name_len > 1024) return corrupt(file + ": tensor header at byte " + std::to_string(r.pos - 12) + " has a bad name length");
      int32_t ne[4] = {1, 1, 1, 1};
      if (!r.read(ne, static_cast<size_t>(n_dims) * 4)) return truncated("a tensor's dimensions");
      std::string name(static_cast<size_t>(name_len), '\0');
      if (!r.read(name.data(), name.size())) return truncated("a tensor name");
      TensorInfo info;
      if (ttype == 0) {
        info.type = WeightType::kF32;
      } else if (ttype == 1) {
        info.type = WeightType::kF16;
      } else {
        return unsupported(file + ": tensor '" + name + "' has ggml type " + std::to_string(ttype) +
                           " (quantized), not supported yet; use an f32 or f16 model");
      }
      uint64_t count = 1;
      for (int d = n_dims - 1; d >= 0; --d) {
        if (ne[d] < 0) return corrupt(file + ": tensor '" + name + "' has a negative dimension");
        count *= static_cast<uint64_t>(ne[d]);
        info.shape.push_back(ne[d]);
      }
      const uint64_t bytes = count * type_size(info.type);
      if (bytes > r.size - r.pos) {
        return corrupt(file + ": tensor '" + name + "' data runs past the end of the file (needs " + std::to_string(bytes) +
                       " bytes at byte " + std::to_string(r.pos) + ", file has " + std::to_string(r.size) + "; truncated?)");
      }
      info.data = r.data + r.pos;
      info.bytes = bytes;
      r.pos += bytes;
      tensors_[name] = info;
    }
    return {};
  }

  // ---- common ------------------------------------------------------------

  Status check_hparams(const std::string& file) {
    const HParams& hp = model_->hparams_;
    auto positive = [&](int v, const char* what) -> Status {
      if (v <= 0 || v > (1 << 24)) return corrupt(file + ": implausible " + std::string(what) + " = " + std::to_string(v));
      return {};
    };
    SF_RETURN_IF_ERROR(positive(hp.n_vocab, "n_vocab"));
    SF_RETURN_IF_ERROR(positive(hp.n_mels, "n_mels"));
    SF_RETURN_IF_ERROR(positive(hp.n_audio_ctx, "n_audio_ctx"));
    SF_RETURN_IF_ERROR(positive(hp.n_audio_state, "n_audio_state"));
    SF_RETURN_IF_ERROR(positive(hp.n_audio_head, "n_audio_head"));
    SF_RETURN_IF_ERROR(positive(hp.n_audio_layer, "n_audio_layer"));
    SF_RETURN_IF_ERROR(positive(hp.n_text_ctx, "n_text_ctx"));
    SF_RETURN_IF_ERROR(positive(hp.n_text_state, "n_text_state"));
    SF_RETURN_IF_ERROR(positive(hp.n_text_head, "n_text_head"));
    SF_RETURN_IF_ERROR(positive(hp.n_text_layer, "n_text_layer"));
    if (hp.n_audio_state % hp.n_audio_head != 0 || hp.n_text_state % hp.n_text_head != 0) {
      return corrupt(file + ": model width is not a multiple of the head count");
    }
    if (hp.n_text_state != hp.n_audio_state) {
      return unsupported(file + ": encoder width " + std::to_string(hp.n_audio_state) + " differs from decoder width " +
                         std::to_string(hp.n_text_state) + "; not supported yet");
    }
    if (hp.n_audio_ctx * 2 > 3000) {
      return corrupt(file + ": n_audio_ctx " + std::to_string(hp.n_audio_ctx) + " exceeds a 30-s window (1500)");
    }
    return {};
  }

  // The F16 data of a tensor stored as F16, else nullptr. ggml files do
  // not align tensors; an odd offset gets an aligned copy.
  const uint16_t* half_data(const std::string& name) {
    const std::string full = model_->format_ == ModelFormat::kHuggingFace ? prefix_ + name : name;
    auto it = tensors_.find(full);
    if (it == tensors_.end() || it->second.type != WeightType::kF16) return nullptr;
    const TensorInfo& t = it->second;
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(uint16_t) == 0) return reinterpret_cast<const uint16_t*>(t.data);
    std::vector<uint16_t> copy(t.bytes / 2);
    std::memcpy(copy.data(), t.data, t.bytes);
    model_->converted_half_.push_back(std::move(copy));
    return model_->converted_half_.back().data();
  }

  Result<const float*> lookup(const std::string& name, std::vector<int64_t> shape) {
    const std::string full = model_->format_ == ModelFormat::kHuggingFace ? prefix_ + name : name;
    auto it = tensors_.find(full);
    if (it == tensors_.end()) {
      if (auto u = unsupported_types_.find(full); u != unsupported_types_.end()) {
        return unsupported(weights_path_ + ": tensor '" + full + "' has dtype " + u->second +
                           ", not supported yet (F32, F16 and BF16 are)");
      }
      return corrupt(weights_path_ + ": tensor '" + full + "' is missing");
    }
    const TensorInfo& t = it->second;
    if (!same_shape(t.shape, shape)) {
      return corrupt(weights_path_ + ": tensor '" + full + "' has shape " + shape_string(t.shape) + ", expected " +
                     shape_string(shape) + " for these hyperparameters");
    }
    ++type_counts_[static_cast<int>(t.type)];
    const size_t count = t.bytes / type_size(t.type);
    model_->weight_bytes_ += count * 4;
    if (t.type == WeightType::kF32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      return reinterpret_cast<const float*>(t.data);
    }
    std::vector<float> out(count);
    if (t.type == WeightType::kF32) {
      std::memcpy(out.data(), t.data, t.bytes);
    } else if (t.type == WeightType::kF16) {
      if (reinterpret_cast<uintptr_t>(t.data) % alignof(uint16_t) == 0) {
        cpu::halfs_to_float(reinterpret_cast<const uint16_t*>(t.data), out.data(), count);
      } else {
        // ggml files leave tensors at odd offsets; realign, then convert.
        std::vector<uint16_t> aligned(count);
        std::memcpy(aligned.data(), t.data, t.bytes);
        cpu::halfs_to_float(aligned.data(), out.data(), count);
      }
    } else {
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = t.type == WeightType::kF16 ? half_to_float(h) : bf16_to_float(h);
      }
    }
    model_->converted_.push_back(std::move(out));
    return static_cast<const float*>(model_->converted_.back().data());
  }

  Status bind_weights() {
    const HParams& hp = model_->hparams_;
    const int64_t d = hp.n_audio_state;
    Weights& w = model_->weights_;
    const bool hf = model_->format_ == ModelFormat::kHuggingFace;
    auto L = [&](const std::string& name, std::vector<int64_t> shape, const float** out,
                 const uint16_t** out_half = nullptr) -> Status {
      auto r = lookup(name, std::move(shape));
      if (!r.ok()) return r.status();
      *out = *r;
      if (out_half != nullptr) *out_half = half_data(name);
      return {};
    };
    // Names differ between formats; this table maps our roles to both.
    struct Names {
      const char* hf;
      const char* ggml;
    };
    auto N = [&](Names n) { return std::string(hf ? n.hf : n.ggml); };

    SF_RETURN_IF_ERROR(L(N({"encoder.conv1.weight", "encoder.conv1.weight"}), {d, hp.n_mels, 3}, &w.conv1_w));
    SF_RETURN_IF_ERROR(L(N({"encoder.conv1.bias", "encoder.conv1.bias"}), {d}, &w.conv1_b));
    SF_RETURN_IF_ERROR(L(N({"encoder.conv2.weight", "encoder.conv2.weight"}), {d, d, 3}, &w.conv2_w));
    SF_RETURN_IF_ERROR(L(N({"encoder.conv2.bias", "encoder.conv2.bias"}), {d}, &w.conv2_b));
    SF_RETURN_IF_ERROR(L(N({"encoder.embed_positions.weight", "encoder.positional_embedding"}), {hp.n_audio_ctx, d}, &w.enc_pos));
    SF_RETURN_IF_ERROR(L(N({"encoder.layer_norm.weight", "encoder.ln_post.weight"}), {d}, &w.enc_ln_w));
    SF_RETURN_IF_ERROR(L(N({"encoder.layer_norm.bias", "encoder.ln_post.bias"}), {d}, &w.enc_ln_b));
    SF_RETURN_IF_ERROR(L(N({"decoder.embed_tokens.weight", "decoder.token_embedding.weight"}), {hp.n_vocab, d}, &w.tok_emb, &w.tok_emb_h));
    SF_RETURN_IF_ERROR(L(N({"decoder.embed_positions.weight", "decoder.positional_embedding"}), {hp.n_text_ctx, d}, &w.dec_pos));
    SF_RETURN_IF_ERROR(L(N({"decoder.layer_norm.weight", "decoder.ln.weight"}), {d}, &w.dec_ln_w));
    SF_RETURN_IF_ERROR(L(N({"decoder.layer_norm.bias", "decoder.ln.bias"}), {d}, &w.dec_ln_b));

    auto block = [&](const std::string& hp_prefix, const std::string& gg_prefix, EncoderLayerWeights* b,
                     const char* hf_attn, const char* gg_attn, const char* hf_ln, const char* gg_ln,
                     bool with_mlp) -> Status {
      auto n = [&](const std::string& hf_name, const std::string& gg_name) {
        return hf ? hp_prefix + hf_name : gg_prefix + gg_name;
      };
      const std::string ha = hf_attn, ga = gg_attn;
      SF_RETURN_IF_ERROR(L(n(std::string(hf_ln) + ".weight", std::string(gg_ln) + ".weight"), {d}, &b->attn_ln_w));
      SF_RETURN_IF_ERROR(L(n(std::string(hf_ln) + ".bias", std::string(gg_ln) + ".bias"), {d}, &b->attn_ln_b));
      SF_RETURN_IF_ERROR(L(n(ha + ".q_proj.weight", ga + ".query.weight"), {d, d}, &b->q_w, &b->q_h));
      SF_RETURN_IF_ERROR(L(n(ha + ".q_proj.bias", ga + ".query.bias"), {d}, &b->q_b));
      SF_RETURN_IF_ERROR(L(n(ha + ".k_proj.weight", ga + ".key.weight"), {d, d}, &b->k_w, &b->k_h));
      SF_RETURN_IF_ERROR(L(n(ha + ".v_proj.weight", ga + ".value.weight"), {d, d}, &b->v_w, &b->v_h));
      SF_RETURN_IF_ERROR(L(n(ha + ".v_proj.bias", ga + ".value.bias"), {d}, &b->v_b));
      SF_RETURN_IF_ERROR(L(n(ha + ".out_proj.weight", ga + ".out.weight"), {d, d}, &b->o_w, &b->o_h));
      SF_RETURN_IF_ERROR(L(n(ha + ".out_proj.bias", ga + ".out.bias"), {d}, &b->o_b));
      if (!with_mlp) return {};
      SF_RETURN_IF_ERROR(L(n("final_layer_norm.weight", "mlp_ln.weight"), {d}, &b->mlp_ln_w));
      SF_RETURN_IF_ERROR(L(n("final_layer_norm.bias", "mlp_ln.bias"), {d}, &b->mlp_ln_b));
      SF_RETURN_IF_ERROR(L(n("fc1.weight", "mlp.0.weight"), {4 * d, d}, &b->fc1_w, &b->fc1_h));
      SF_RETURN_IF_ERROR(L(n("fc1.bias", "mlp.0.bias"), {4 * d}, &b->fc1_b));
      SF_RETURN_IF_ERROR(L(n("fc2.weight", "mlp.2.weight"), {d, 4 * d}, &b->fc2_w, &b->fc2_h));
      SF_RETURN_IF_ERROR(L(n("fc2.bias", "mlp.2.bias"), {d}, &b->fc2_b));
      return {};
    };

    w.enc.resize(static_cast<size_t>(hp.n_audio_layer));
    for (int i = 0; i < hp.n_audio_layer; ++i) {
      const std::string hp_prefix = "encoder.layers." + std::to_string(i) + ".";
      const std::string gg_prefix = "encoder.blocks." + std::to_string(i) + ".";
      SF_RETURN_IF_ERROR(block(hp_prefix, gg_prefix, &w.enc[static_cast<size_t>(i)], "self_attn", "attn",
                               "self_attn_layer_norm", "attn_ln", true));
    }
    w.dec.resize(static_cast<size_t>(hp.n_text_layer));
    for (int i = 0; i < hp.n_text_layer; ++i) {
      const std::string hp_prefix = "decoder.layers." + std::to_string(i) + ".";
      const std::string gg_prefix = "decoder.blocks." + std::to_string(i) + ".";
      DecoderLayerWeights& dl = w.dec[static_cast<size_t>(i)];
      SF_RETURN_IF_ERROR(block(hp_prefix, gg_prefix, &dl.self, "self_attn", "attn", "self_attn_layer_norm", "attn_ln", true));
      EncoderLayerWeights cross;
      SF_RETURN_IF_ERROR(block(hp_prefix, gg_prefix, &cross, "encoder_attn", "cross_attn", "encoder_attn_layer_norm",
                               "cross_attn_ln", false));
      dl.cross_ln_w = cross.attn_ln_w;
      dl.cross_ln_b = cross.attn_ln_b;
      dl.cross_q_w = cross.q_w;
      dl.cross_q_h = cross.q_h;
      dl.cross_o_h = cross.o_h;
      dl.cross_q_b = cross.q_b;
      dl.cross_k_w = cross.k_w;
      dl.cross_v_w = cross.v_w;
      dl.cross_v_b = cross.v_b;
      dl.cross_o_w = cross.o_w;
      dl.cross_o_b = cross.o_b;
    }
    // The majority storage type, for reports.
    int best = 0;
    for (int t = 1; t < 3; ++t) {
      if (type_counts_[t] > type_counts_[best]) best = t;
    }
    model_->stored_type_ = static_cast<WeightType>(best);
    SF_LOG_DEBUG("loaded Whisper model {} ({} encoder / {} decoder layers, width {}, {} weights, {} MiB as f32)",
                 path_, hp.n_audio_layer, hp.n_text_layer, hp.n_audio_state, type_name(model_->stored_type_),
                 model_->weight_bytes_ >> 20);
    return {};
  }

  std::string path_;
  std::string weights_path_;
  std::string prefix_;
  std::unique_ptr<Model> model_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> unsupported_types_;
  int type_counts_[3] = {0, 0, 0};
};

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
  ModelLoader loader(path);
  return loader.load();
}

}  // namespace sf::asr::whisper
