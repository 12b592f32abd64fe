// Test media made at test time: WAV files written directly, and small
// videos made with the ffmpeg CLI (test fixtures only; the product never
// runs ffmpeg).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sf::testing {

inline std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("sf-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

// 16-bit PCM WAV of `samples` (mono, `rate` Hz).
inline void write_wav(const std::filesystem::path& path, const std::vector<float>& samples, int rate,
                      int channels = 1) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2 * static_cast<size_t>(channels));
  f.write("RIFF", 4);
  u32(36 + data_bytes);
  f.write("WAVEfmt ", 8);
  u32(16);
  u16(1);
  u16(static_cast<uint16_t>(channels));
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate * 2 * channels));
  u16(static_cast<uint16_t>(2 * channels));
  u16(16);
  f.write("data", 4);
  u32(data_bytes);
  for (float s : samples) {
    auto v = static_cast<int16_t>(std::lrint(std::fmax(-1.0, std::fmin(1.0, s)) * 32767));
    for (int c = 0; c < channels; ++c) f.write(reinterpret_cast<const char*>(&v), 2);
  }
}

inline std::vector<float> sine(double freq, double seconds, int rate, float amp = 0.5f) {
  std::vector<float> v(static_cast<size_t>(seconds * rate));
  for (size_t i = 0; i < v.size(); ++i) v[i] = amp * static_cast<float>(std::sin(2 * M_PI * freq * static_cast<double>(i) / rate));
  return v;
}

// Runs a shell command; true on success.
inline bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

}  // namespace sf::testing
