// A small synthetic Whisper vocabulary written in the real file formats
// (tokenizer.json, or vocab.json + merges.txt + added_tokens.json), for
// tokenizer and decoding tests. The byte-level mapping is spelled out here
// independently of the tokenizer under test.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

namespace sf::asr::whisper::testing {

// GPT-2's byte → code point table.
inline std::string gpt2_text(const std::string& bytes) {
  std::vector<int> map(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map[static_cast<size_t>(b)] = keep ? b : 256 + extra++;
  }
  std::string out;
  for (unsigned char c : bytes) {
    int cp = map[c];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

struct SyntheticVocab {
  std::filesystem::path dir;
  // Merges as raw byte pairs, in rank order; each result gets the next id.
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> specials;
  bool list_timestamps = true;
};

inline std::vector<std::pair<std::string, std::string>> default_merges() {
  return {{" ", "t"}, {"h", "e"}, {" t", "he"}, {" ", "w"}, {"o", "r"}, {" w", "or"},
          {"l", "d"}, {" wor", "ld"}, {"i", "n"}, {" ", "in"}, {"e", "r"},
          {"\xC3", "\xA9"}, {"\xE4", "\xBD"}, {"\xE4\xBD", "\xA0"}, {"H", "e"}, {"l", "l"},
          {"He", "ll"}, {"Hell", "o"}, {" ", "a"}};
}

inline std::vector<std::string> default_specials() {
  return {"<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|zh|>", "<|de|>",
          "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
          "<|nocaptions|>", "<|notimestamps|>"};
}

// Writes the vocabulary; returns the number of regular tokens.
inline int write_vocab(const SyntheticVocab& v, bool tokenizer_json) {
  std::filesystem::create_directories(v.dir);
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[gpt2_text(std::string(1, static_cast<char>(b)))] = id++;
  std::vector<std::string> merge_lines;
  for (const auto& [a, b] : v.merges) {
    vocab[gpt2_text(a + b)] = id++;
    merge_lines.push_back(gpt2_text(a) + " " + gpt2_text(b));
  }
  const int n_regular = id;
  std::vector<std::pair<std::string, int>> added;
  for (const auto& s : v.specials) added.emplace_back(s, id++);
  if (v.list_timestamps) {
    for (int i = 0; i <= 1500; ++i) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "<|%.2f|>", 0.02 * i);
      added.emplace_back(buf, id++);
    }
  }
  if (tokenizer_json) {
    nlohmann::json j;
    j["version"] = "1.0";
    j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_lines}};
    nlohmann::json at = nlohmann::json::array();
    for (const auto& [s, i] : added) at.push_back({{"id", i}, {"content", s}, {"special", true}});
    j["added_tokens"] = at;
    std::ofstream(v.dir / "tokenizer.json") << j.dump();
  } else {
    std::ofstream(v.dir / "vocab.json") << vocab.dump();
    std::ofstream m(v.dir / "merges.txt");
    m << "#version: 0.2\n";
    for (const auto& l : merge_lines) m << l << "\n";
    nlohmann::json at = nlohmann::json::object();
    for (const auto& [s, i] : added) at[s] = i;
    std::ofstream(v.dir / "added_tokens.json") << at.dump();
  }
  return n_regular;
}

// A fresh temporary folder, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sf_whisper_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace sf::asr::whisper::testing
