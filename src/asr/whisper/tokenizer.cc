#include "asr/whisper/tokenizer.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "asr/whisper/utf8.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<std::string_view, 100> kLanguages = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue"};

// GPT-2 maps every byte to a printable code point: printable Latin-1 bytes
// map to themselves, the rest to 256 + n in byte order.
const std::array<char32_t, 256>& byte_to_cp() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
    }
    return t;
  }();
  return table;
}

const std::unordered_map<char32_t, unsigned char>& cp_to_byte() {
  static const std::unordered_map<char32_t, unsigned char> table = [] {
    std::unordered_map<char32_t, unsigned char> t;
    const auto& fwd = byte_to_cp();
    for (int b = 0; b < 256; ++b) t[fwd[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
    return t;
  }();
  return table;
}

bool is_special_name(std::string_view s) {
  return s.size() >= 5 && s.substr(0, 2) == "<|" && s.substr(s.size() - 2) == "|>";
}

Result<json> read_json(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return not_found("cannot open " + p.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    return corrupt(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

std::string pair_key(std::string_view a, std::string_view b) {
  std::string k;
  k.reserve(a.size() + b.size() + 1);
  k.append(a);
  k.push_back('\0');
  k.append(b);
  return k;
}

}  // namespace

std::string bytes_to_unicode_text(std::string_view bytes) {
  std::string out;
  const auto& t = byte_to_cp();
  for (unsigned char c : bytes) utf8::append(out, t[c]);
  return out;
}

bool unicode_text_to_bytes(std::string_view text, std::string* bytes) {
  bytes->clear();
  const auto& t = cp_to_byte();
  for (char32_t cp : utf8::decode(text)) {
    auto it = t.find(cp);
    if (it == t.end()) return false;
    bytes->push_back(static_cast<char>(it->second));
  }
  return true;
}

std::vector<std::string> pretokenize(std::string_view text) {
  std::vector<char32_t> cps = utf8::decode(text);
  const size_t n = cps.size();
  std::vector<std::string> out;
  auto emit = [&](size_t a, size_t b) {
    std::string s;
    for (size_t k = a; k < b; ++k) utf8::append(s, cps[k]);
    out.push_back(std::move(s));
  };
  enum class Kind { kLetter, kNumber, kOther, kSpace };
  auto kind = [&](size_t k) {
    char32_t c = cps[k];
    if (utf8::is_space(c)) return Kind::kSpace;
    if (utf8::is_letter(c)) return Kind::kLetter;
    if (utf8::is_number(c)) return Kind::kNumber;
    return Kind::kOther;
  };
  size_t i = 0;
  while (i < n) {
    if (cps[i] == U'\'' && i + 1 < n) {
      char32_t a = cps[i + 1];
      if (a == U's' || a == U't' || a == U'm' || a == U'd') {
        emit(i, i + 2);
        i += 2;
        continue;
      }
      if (i + 2 < n) {
        char32_t b = cps[i + 2];
        if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) {
          emit(i, i + 3);
          i += 3;
          continue;
        }
      }
    }
    size_t start = i;
    size_t body = (cps[i] == U' ' && i + 1 < n && kind(i + 1) != Kind::kSpace) ? i + 1 : i;
    Kind k = kind(body);
    if (k != Kind::kSpace) {
      size_t j = body + 1;
      while (j < n && kind(j) == k) ++j;
      emit(start, j);
      i = j;
      continue;
    }
    // A whitespace run leaves its last character to the word that follows.
    size_t j = i;
    while (j < n && kind(j) == Kind::kSpace) ++j;
    if (j < n && j - i >= 2) j -= 1;
    emit(i, j);
    i = j;
  }
  return out;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_hf(const fs::path& dir, int n_vocab) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  std::vector<std::pair<std::string, int>> vocab;  // vocab-file text → id
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::pair<std::string, int>> added;

  const fs::path tj = dir / "tokenizer.json";
  const fs::path vj = dir / "vocab.json";
  if (fs::exists(tj)) {
    SF_ASSIGN_OR_RETURN(json j, read_json(tj));
    try {
      const json& model = j.at("model");
      for (const auto& [k, v] : model.at("vocab").items()) vocab.emplace_back(k, v.get<int>());
      for (const auto& m : model.at("merges")) {
        if (m.is_string()) {
          std::string s = m.get<std::string>();
          size_t sp = s.find(' ');
          if (sp == std::string::npos) return corrupt(tj.string() + ": merge '" + s + "' has no space");
          merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
        } else {
          merges.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
        }
      }
      if (j.contains("added_tokens")) {
        for (const auto& a : j.at("added_tokens"))
          added.emplace_back(a.at("content").get<std::string>(), a.at("id").get<int>());
      }
    } catch (const json::exception& e) {
      return corrupt(tj.string() + ": unexpected layout (" + e.what() + ")");
    }
  } else if (fs::exists(vj)) {
    SF_ASSIGN_OR_RETURN(json j, read_json(vj));
    try {
      for (const auto& [k, v] : j.items()) vocab.emplace_back(k, v.get<int>());
    } catch (const json::exception& e) {
      return corrupt(vj.string() + ": unexpected layout (" + e.what() + ")");
    }
    const fs::path mt = dir / "merges.txt";
    std::ifstream in(mt);
    if (!in) return not_found(dir.string() + ": vocab.json without merges.txt");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line.rfind("#version", 0) == 0) continue;
      size_t sp = line.find(' ');
      if (sp == std::string::npos) return corrupt(mt.string() + ": merge line '" + line + "' has no space");
      merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
    }
    const fs::path at = dir / "added_tokens.json";
    if (fs::exists(at)) {
      SF_ASSIGN_OR_RETURN(json a, read_json(at));
      try {
        for (const auto& [k, v] : a.items()) added.emplace_back(k, v.get<int>());
      } catch (const json::exception& e) {
        return corrupt(at.string() + ": unexpected layout (" + e.what() + ")");
      }
    }
  } else {
    return not_found(dir.string() + ": no tokenizer.json or vocab.json");
  }

  int max_id = -1;
  for (const auto& [s, id] : vocab) max_id = std::max(max_id, id);
  for (const auto& [s, id] : added) max_id = std::max(max_id, id);
  if (max_id < 0) return corrupt(dir.string() + ": empty vocabulary");
  if (max_id > 10'000'000) return corrupt(dir.string() + ": token id " + std::to_string(max_id) + " is implausible");
  t->pieces_.assign(static_cast<size_t>(max_id) + 1, std::string());
  for (const auto& [s, id] : vocab) {
    if (id < 0) return corrupt(dir.string() + ": negative token id for '" + s + "'");
    if (is_special_name(s)) {
      t->special_by_name_[s] = id;
      t->pieces_[static_cast<size_t>(id)] = s;
      continue;
    }
    std::string bytes;
    if (!unicode_text_to_bytes(s, &bytes))
      return corrupt(dir.string() + ": token '" + s + "' is not in byte-level form");
    t->pieces_[static_cast<size_t>(id)] = bytes;
    t->bytes_to_id_.emplace(std::move(bytes), id);
  }
  for (const auto& [s, id] : added) {
    if (id < 0) return corrupt(dir.string() + ": negative token id for '" + s + "'");
    t->special_by_name_[s] = id;
    t->pieces_[static_cast<size_t>(id)] = s;
  }
  int rank = 0;
  for (const auto& [a, b] : merges) {
    std::string ab, bb;
    if (!unicode_text_to_bytes(a, &ab) || !unicode_text_to_bytes(b, &bb))
      return corrupt(dir.string() + ": merge '" + a + " " + b + "' is not in byte-level form");
    t->ranks_.emplace(pair_key(ab, bb), rank++);
  }
  for (int b = 0; b < 256; ++b) {
    if (!t->bytes_to_id_.count(std::string(1, static_cast<char>(b))))
      return corrupt(dir.string() + ": vocabulary lacks the token for byte " + std::to_string(b));
  }
  t->finish_specials(n_vocab);
  return t;
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_token_bytes(std::vector<std::string> pieces,
                                                               int n_vocab) {
  if (pieces.empty()) return corrupt("empty token table");
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->pieces_ = std::move(pieces);
  for (size_t i = 0; i < t->pieces_.size(); ++i) {
    const std::string& p = t->pieces_[i];
    if (is_special_name(p)) {
      t->special_by_name_[p] = static_cast<int>(i);
    } else {
      t->bytes_to_id_.emplace(p, static_cast<int>(i));
    }
  }
  t->finish_specials(n_vocab);
  return t;
}

void Tokenizer::finish_specials(int n_vocab) {
  auto by_name = [&](std::string_view name) {
    auto it = special_by_name_.find(std::string(name));
    return it == special_by_name_.end() ? -1 : it->second;
  };
  auto first_of = [&](int found, int fallback) { return found >= 0 ? found : fallback; };
  SpecialTokens& s = special_;
  // Whisper's regular vocabulary is GPT-2's (50256 tokens) for English-only
  // models and one token larger for multilingual ones.
  bool ml_by_size = n_vocab >= 51865;
  s.eot = first_of(by_name("<|endoftext|>"), n_vocab > 0 ? (ml_by_size ? 50257 : 50256)
                                                         : static_cast<int>(pieces_.size()));
  multilingual_ = s.eot != 50256;
  s.sot = first_of(by_name("<|startoftranscript|>"), s.eot + 1);
  s.first_language = s.sot + 1;
  if (by_name("<|en|>") >= 0) {
    s.first_language = by_name("<|en|>");
    s.n_languages = 0;
    for (std::string_view code : kLanguages) {
      if (by_name("<|" + std::string(code) + "|>") != s.first_language + s.n_languages) break;
      ++s.n_languages;
    }
  } else if (n_vocab > 0) {
    s.n_languages = std::clamp(n_vocab - 51765 - (ml_by_size ? 1 : 0), 0, static_cast<int>(kLanguages.size()));
  }
  int after = s.first_language + s.n_languages;
  s.translate = first_of(by_name("<|translate|>"), after);
  s.transcribe = first_of(by_name("<|transcribe|>"), s.translate + 1);
  s.start_of_lm = first_of(by_name("<|startoflm|>"), s.transcribe + 1);
  s.start_of_prev = first_of(by_name("<|startofprev|>"), s.start_of_lm + 1);
  s.no_speech = first_of(by_name("<|nospeech|>"), first_of(by_name("<|nocaptions|>"), s.start_of_prev + 1));
  s.no_timestamps = first_of(by_name("<|notimestamps|>"), s.no_speech + 1);
  s.timestamp_begin = first_of(by_name("<|0.00|>"), s.no_timestamps + 1);

  vocab_size_ = std::max({n_vocab, static_cast<int>(pieces_.size()), last_timestamp() + 1});
  if (static_cast<int>(pieces_.size()) < vocab_size_) pieces_.resize(static_cast<size_t>(vocab_size_));
  // Name the special ids the files left unnamed, so that every id decodes.
  auto name = [&](int id, std::string nm) {
    if (id < 0 || id >= vocab_size_) return;
    auto& p = pieces_[static_cast<size_t>(id)];
    if (p.empty() || !is_special_name(p)) {
      if (!p.empty()) bytes_to_id_.erase(p);
      p = nm;
    }
    special_by_name_.emplace(std::move(nm), id);
  };
  name(s.eot, "<|endoftext|>");
  name(s.sot, "<|startoftranscript|>");
  for (int i = 0; i < s.n_languages; ++i)
    name(s.first_language + i, "<|" + std::string(kLanguages[static_cast<size_t>(i)]) + "|>");
  name(s.translate, "<|translate|>");
  name(s.transcribe, "<|transcribe|>");
  name(s.start_of_lm, "<|startoflm|>");
  name(s.start_of_prev, "<|startofprev|>");
  name(s.no_speech, "<|nospeech|>");
  name(s.no_timestamps, "<|notimestamps|>");
  for (int i = 0; i <= 1500; ++i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "<|%.2f|>", 0.02 * i);
    name(s.timestamp_begin + i, buf);
  }
}

std::vector<int> Tokenizer::bpe(std::string_view word) const {
  std::vector<std::string> parts;
  parts.reserve(word.size());
  for (char c : word) parts.emplace_back(1, c);
  while (parts.size() > 1) {
    int best = INT_MAX;
    size_t best_i = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks_.find(pair_key(parts[i], parts[i + 1]));
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        best_i = i;
      }
    }
    if (best == INT_MAX) break;
    const std::string left = parts[best_i], right = parts[best_i + 1];
    std::vector<std::string> merged;
    merged.reserve(parts.size());
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size() && parts[i] == left && parts[i + 1] == right) {
        merged.push_back(left + right);
        i += 2;
      } else {
        merged.push_back(std::move(parts[i]));
        i += 1;
      }
    }
    parts = std::move(merged);
  }
  std::vector<int> ids;
  for (const auto& p : parts) {
    auto it = bytes_to_id_.find(p);
    if (it != bytes_to_id_.end()) {
      ids.push_back(it->second);
      continue;
    }
    // A merge whose result is missing from the vocabulary: fall back to bytes.
    for (char c : p) ids.push_back(bytes_to_id_.at(std::string(1, c)));
  }
  return ids;
}

Result<std::vector<int>> Tokenizer::encode(std::string_view text) const {
  if (!can_encode())
    return unsupported("this tokenizer has no merge table (ggml files carry none): it can only decode");
  std::vector<int> ids;
  for (const std::string& piece : pretokenize(text)) {
    std::vector<int> p = bpe(piece);
    ids.insert(ids.end(), p.begin(), p.end());
  }
  return ids;
}

std::string Tokenizer::token_bytes(int id) const {
  if (id < 0 || id >= static_cast<int>(pieces_.size())) return {};
  return pieces_[static_cast<size_t>(id)];
}

std::string Tokenizer::decode(std::span<const int> ids, bool with_special) const {
  std::string bytes;
  for (int id : ids) {
    if (id < 0 || id >= static_cast<int>(pieces_.size())) continue;
    if (is_special(id) && !with_special) continue;
    bytes += pieces_[static_cast<size_t>(id)];
  }
  return utf8::sanitize(bytes);
}

int Tokenizer::piece_id(std::string_view bytes) const {
  auto it = bytes_to_id_.find(std::string(bytes));
  return it == bytes_to_id_.end() ? -1 : it->second;
}

int Tokenizer::special_id(std::string_view name) const {
  auto it = special_by_name_.find(std::string(name));
  return it == special_by_name_.end() ? -1 : it->second;
}

int Tokenizer::language_id(std::string_view code) const {
  for (int i = 0; i < special_.n_languages; ++i) {
    if (kLanguages[static_cast<size_t>(i)] == code) return special_.first_language + i;
  }
  return -1;
}

std::string Tokenizer::language_code(int id) const {
  int i = id - special_.first_language;
  if (i < 0 || i >= special_.n_languages) return {};
  return std::string(kLanguages[static_cast<size_t>(i)]);
}

}  // namespace sf::asr::whisper
