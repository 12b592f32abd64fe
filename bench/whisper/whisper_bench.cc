// Times the Whisper engine's two hot paths on one model, the way
// whisper.cpp's bench tool does, so the figures sit side by side:
//   encoder: milliseconds for one 30-s window (after one warm-up run; the
//            fastest of --encode-runs runs);
//   decoder: milliseconds per token, averaged over --tokens single-token
//            steps at positions 0, 1, 2, ... (a KV cache that grows as in
//            real decoding), after a warm-up pass over the same steps.
// Prints one line: model, threads, encoder ms, decoder ms/token.
//
// --device cuda[:N] runs the CUDA backend instead; --batch B then encodes B
// windows per call and decodes B sequences per step (one KV slot each),
// and the line adds encoder windows/s and decoder tokens/s (B tokens per
// step). Timings include the copies of the logits to the host, as the
// engine sees them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "asr/whisper/mel.h"
#include "asr/whisper/model/model.h"
#include "asr/whisper/model/session.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace ww = sf::asr::whisper;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int fail(const sf::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Whisper engine benchmark: encoder ms per window, decoder ms per token"};
  std::string model_path;
  int threads = 1;
  int encode_runs = 2;
  int n_tokens = 256;
  std::string compute_type = "auto";
  std::string device = "cpu";
  int batch = 1;
  app.add_option("--model", model_path, "HF folder or ggml file")->required();
  app.add_option("--threads,-t", threads, "compute threads")->check(CLI::Range(1, 256));
  app.add_option("--encode-runs", encode_runs, "timed encoder runs")->check(CLI::Range(1, 100));
  app.add_option("--tokens", n_tokens, "decoder steps")->check(CLI::Range(1, 448));
  app.add_option("--compute-type", compute_type, "auto | f32 | f16 | bf16 | int8");
  app.add_option("--device", device, "cpu | cuda | cuda:N");
  app.add_option("--batch", batch, "windows per encode, sequences per decode step")->check(CLI::Range(1, 4096));
  CLI11_PARSE(app, argc, argv);

  auto t_load = Clock::now();
  auto model = ww::Model::load(model_path);
  if (!model.ok()) return fail(model.status());
  const double load_ms = ms_since(t_load);
  const ww::HParams& hp = model.value()->hparams();
  n_tokens = std::min(n_tokens, hp.n_text_ctx);

  auto ct = ww::parse_compute_type(compute_type);
  if (!ct.ok()) return fail(ct.status());
  auto dev = ww::parse_device(device);
  if (!dev.ok()) return fail(dev.status());
  auto session = ww::Session::create(
      model.value(), {.threads = threads, .max_batch = batch, .device = *dev, .compute_type = *ct});
  if (!session.ok()) return fail(session.status());
  ww::Session& s = *session.value();

  // A window of real audio features (a tone) rather than zeros, so no
  // arithmetic takes a shortcut on special values.
  std::vector<float> audio(ww::kWindowSamples);
  for (size_t i = 0; i < audio.size(); ++i) {
    audio[i] = 0.3f * static_cast<float>(std::sin(2.0 * std::numbers::pi * 440.0 * static_cast<double>(i) /
                                                   ww::kMelSampleRate));
  }
  auto one_mel = ww::log_mel_spectrogram(audio, hp.n_mels);
  if (!one_mel.ok()) return fail(one_mel.status());
  std::vector<float> mel;
  for (int b = 0; b < batch; ++b) mel.insert(mel.end(), one_mel.value().begin(), one_mel.value().end());

  if (auto st = s.encode(mel, batch); !st.ok()) return fail(st);
  double enc_ms = 1e300;
  for (int r = 0; r < encode_runs; ++r) {
    auto t0 = Clock::now();
    if (auto st = s.encode(mel, batch); !st.ok()) return fail(st);
    enc_ms = std::min(enc_ms, ms_since(t0));
  }

  std::vector<float> logits;
  std::vector<int32_t> tokens(static_cast<size_t>(n_tokens));
  for (int i = 0; i < n_tokens; ++i) tokens[static_cast<size_t>(i)] = (i * 7919) % 50000;
  std::vector<ww::DecodeItem> items(static_cast<size_t>(batch));
  auto decode_pass = [&]() -> sf::Status {
    for (int i = 0; i < n_tokens; ++i) {
      for (int b = 0; b < batch; ++b) {
        items[static_cast<size_t>(b)] = {.batch_index = b,
                                         .slot = b,
                                         .tokens = std::span<const int32_t>(&tokens[static_cast<size_t>(i)], 1),
                                         .n_past = i};
      }
      SF_RETURN_IF_ERROR(s.decode(items, &logits));
    }
    return {};
  };
  if (auto st = decode_pass(); !st.ok()) return fail(st);
  auto t0 = Clock::now();
  if (auto st = decode_pass(); !st.ok()) return fail(st);
  const double dec_ms = ms_since(t0) / n_tokens;

  if (s.options().device.kind == ww::Device::Kind::kCpu && batch == 1) {
    std::printf("model=%s d_model=%d layers=%d/%d threads=%d compute_type=%s load_ms=%.0f encoder_ms=%.1f "
                "decoder_ms_per_token=%.2f\n",
                model.value()->name().c_str(), hp.n_audio_state, hp.n_audio_layer, hp.n_text_layer, threads,
                std::string(ww::compute_type_name(s.options().compute_type)).c_str(), load_ms, enc_ms, dec_ms);
    return 0;
  }
  // dec_ms is per step of `batch` tokens here.
  std::printf("model=%s d_model=%d layers=%d/%d device=%s compute_type=%s%s batch=%d load_ms=%.0f "
              "encoder_ms_per_call=%.2f encoder_windows_per_s=%.1f decoder_ms_per_step=%.3f "
              "decoder_tokens_per_s=%.0f\n",
              model.value()->name().c_str(), hp.n_audio_state, hp.n_audio_layer, hp.n_text_layer,
              ww::device_name(s.options().device).c_str(),
              std::string(ww::compute_type_name(s.options().compute_type)).c_str(),
              s.fallback_reason().empty() ? "" : " (fallback)", batch, load_ms, enc_ms, 1000.0 * batch / enc_ms, dec_ms,
              1000.0 * batch / dec_ms);
  return 0;
}
