// Drives `studioflow whisper-probe` on a small model and checks its .npy
// files against the library run in-process.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "asr/whisper/mel.h"
#include "asr/whisper/model/session.h"
#include "asr/whisper/tiny_model.h"
#include "media/audio.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;

void write_wav(const fs::path& path, const std::vector<float>& x) {
  std::string data;
  for (float v : x) {
    const int16_t s = static_cast<int16_t>(std::lround(std::clamp(v, -1.0f, 1.0f) * 32767.0f));
    data.append(reinterpret_cast<const char*>(&s), 2);
  }
  std::string h;
  auto u32 = [&](uint32_t v) { h.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { h.append(reinterpret_cast<const char*>(&v), 2); };
  h += "RIFF";
  u32(static_cast<uint32_t>(36 + data.size()));
  h += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(1);
  u32(16000);
  u32(32000);
  u16(2);
  u16(16);
  h += "data";
  u32(static_cast<uint32_t>(data.size()));
  testing::write_file(path, h + data);
}

struct Npy {
  std::vector<size_t> shape;
  std::vector<float> data;
};

// Reads a v1.0 little-endian float32 .npy file.
Npy read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Npy out;
  EXPECT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const std::string header = bytes.substr(10, hlen);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  const size_t open = header.find("'shape': (");
  const size_t close = header.find(')', open);
  std::string dims = header.substr(open + 10, close - open - 10);
  size_t count = 1;
  for (size_t pos = 0; pos < dims.size();) {
    size_t used = 0;
    const size_t v = std::stoul(dims.substr(pos), &used);
    out.shape.push_back(v);
    count *= v;
    pos += used;
    while (pos < dims.size() && (dims[pos] == ',' || dims[pos] == ' ')) ++pos;
  }
  EXPECT_EQ(bytes.size(), 10 + hlen + count * 4);
  out.data.resize(count);
  std::memcpy(out.data.data(), bytes.data() + 10 + hlen, std::min(count * 4, bytes.size() - 10 - hlen));
  return out;
}

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(WhisperProbe, WritesMelEncoderAndLogitsAsTheLibraryComputesThem) {
  const fs::path dir = fs::temp_directory_path() / ("sf_whisper_probe_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const HParams hp = testing::small_hparams();
  const auto specs = testing::tensor_specs(hp);
  testing::write_hf(dir / "model", hp, specs, testing::random_weights(specs, 3), "F16");
  std::vector<float> audio(16000);
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = 0.3f * static_cast<float>(std::sin(2 * std::numbers::pi * 440.0 * static_cast<double>(i) / 16000.0));
  write_wav(dir / "a.wav", audio);

  const std::string cmd = std::string(SF_BINARY) + " -q whisper-probe --model " + (dir / "model").string() +
                          " --audio " + (dir / "a.wav").string() + " --tokens 1,2,3,99 --out " + (dir / "out").string();
  ASSERT_EQ(run(cmd), 0) << cmd;

  const Npy mel = read_npy(dir / "out" / "mel.npy");
  const Npy enc = read_npy(dir / "out" / "encoder.npy");
  const Npy logits = read_npy(dir / "out" / "logits.npy");
  EXPECT_EQ(mel.shape, (std::vector<size_t>{8, 3000}));
  EXPECT_EQ(enc.shape, (std::vector<size_t>{8, 16}));
  EXPECT_EQ(logits.shape, (std::vector<size_t>{4, 100}));

  // The same computation in-process.
  auto decoded = media::decode_audio((dir / "a.wav").string(), 16000);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  auto expect_mel = log_mel_spectrogram(*decoded, hp.n_mels);
  ASSERT_TRUE(expect_mel.ok());
  EXPECT_EQ(mel.data, *expect_mel);
  auto model = Model::load((dir / "model").string());
  ASSERT_TRUE(model.ok());
  auto session = Session::create(*model, {});
  ASSERT_TRUE(session.ok());
  std::vector<float> frames;
  for (int m = 0; m < hp.n_mels; ++m) {
    frames.insert(frames.end(), expect_mel->begin() + m * kWindowFrames, expect_mel->begin() + m * kWindowFrames + 16);
  }
  ASSERT_TRUE((*session)->encode(frames, 1).ok());
  EXPECT_EQ(enc.data, std::vector<float>((*session)->encoder_output(0), (*session)->encoder_output(0) + 8 * 16));
  const std::vector<int32_t> toks = {1, 2, 3, 99};
  DecodeItem it{.tokens = toks};
  std::vector<float> expect_logits;
  ASSERT_TRUE((*session)->decode({&it, 1}, &expect_logits, true).ok());
  EXPECT_EQ(logits.data, expect_logits);

  // Bad inputs: a clear message and the bad-input exit code.
  EXPECT_EQ(run(std::string(SF_BINARY) + " -q whisper-probe --model " + (dir / "nope").string() + " --audio " +
                (dir / "a.wav").string() + " --tokens 1 --out " + (dir / "out2").string() + " 2>/dev/null"),
            3);
  EXPECT_EQ(run(std::string(SF_BINARY) + " -q whisper-probe --model " + (dir / "model").string() + " --audio " +
                (dir / "a.wav").string() + " --tokens 1,x --out " + (dir / "out2").string() + " 2>/dev/null"),
            2);
  EXPECT_EQ(run(std::string(SF_BINARY) + " -q whisper-probe --model " + (dir / "model").string() + " --audio " +
                (dir / "a.wav").string() + " --tokens 1,100 --out " + (dir / "out2").string() + " 2>/dev/null"),
            2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sf::asr::whisper
