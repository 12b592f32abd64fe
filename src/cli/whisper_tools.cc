#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "asr/whisper/mel.h"
#include "asr/whisper/model/model.h"
#include "asr/whisper/model/session.h"
#include "asr/whisper/model_store.h"
#include "asr/whisper/npy.h"
#include "cli/app.h"
#include "cli/exit_codes.h"
#include "core/log.h"
#include "media/audio.h"

namespace sf::cli {

namespace {

namespace wh = sf::asr::whisper;

struct ProbeOptions {
  std::string model;
  std::string audio;
  std::string tokens;
  std::string out;
  int threads = 1;
  std::string device = "auto";
  std::string compute_type = "auto";
};

Result<std::vector<int32_t>> parse_tokens(const std::string& text) {
  std::vector<int32_t> tokens;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > 1'000'000'000) {
      return invalid_argument("--tokens: '" + item + "' is not a token id");
    }
    tokens.push_back(static_cast<int32_t>(v));
  }
  if (tokens.empty()) return invalid_argument("--tokens: no token ids given");
  return tokens;
}

// Runs the front end, the encoder and the decoder on one 30-s window and
// writes their outputs as .npy files, for comparison with a reference.
Status run_probe(const ProbeOptions& o) {
  SF_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, parse_tokens(o.tokens));
  SF_ASSIGN_OR_RETURN(std::shared_ptr<const wh::Model> model, wh::Model::load(o.model));
  const wh::HParams& hp = model->hparams();
  SF_ASSIGN_OR_RETURN(std::vector<float> audio, media::decode_audio(o.audio, wh::kMelSampleRate));
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) return permission_denied(o.out + ": cannot create folder: " + ec.message());

  auto t0 = std::chrono::steady_clock::now();
  SF_ASSIGN_OR_RETURN(std::vector<float> mel, wh::log_mel_spectrogram(audio, hp.n_mels));
  SF_RETURN_IF_ERROR(wh::write_npy((std::filesystem::path(o.out) / "mel.npy").string(), mel,
                               {static_cast<size_t>(hp.n_mels), static_cast<size_t>(wh::kWindowFrames)}));

  // The encoder takes 2 * n_audio_ctx frames (3000 for every real model).
  const int frames = 2 * hp.n_audio_ctx;
  std::vector<float> enc_in(static_cast<size_t>(hp.n_mels) * static_cast<size_t>(frames));
  for (int m = 0; m < hp.n_mels; ++m) {
    std::copy_n(mel.begin() + static_cast<long>(m) * wh::kWindowFrames, frames,
                enc_in.begin() + static_cast<long>(m) * frames);
  }
  SF_ASSIGN_OR_RETURN(wh::Device device, wh::parse_device(o.device));
  SF_ASSIGN_OR_RETURN(wh::ComputeType compute_type, wh::parse_compute_type(o.compute_type));
  SF_ASSIGN_OR_RETURN(std::unique_ptr<wh::Session> session,
                      wh::Session::create(model, {.threads = o.threads, .device = device, .compute_type = compute_type}));
  if (!session->fallback_reason().empty()) SF_LOG_WARN("whisper-probe: {}", session->fallback_reason());
  auto t1 = std::chrono::steady_clock::now();
  SF_RETURN_IF_ERROR(session->encode(enc_in, 1));
  auto t2 = std::chrono::steady_clock::now();
  SF_RETURN_IF_ERROR(wh::write_npy(
      (std::filesystem::path(o.out) / "encoder.npy").string(),
      std::span<const float>(session->encoder_output(0), static_cast<size_t>(hp.n_audio_ctx) * static_cast<size_t>(hp.n_audio_state)),
      {static_cast<size_t>(hp.n_audio_ctx), static_cast<size_t>(hp.n_audio_state)}));

  wh::DecodeItem item{.batch_index = 0, .slot = 0, .tokens = tokens, .n_past = 0};
  std::vector<float> logits;
  SF_RETURN_IF_ERROR(session->decode({&item, 1}, &logits, /*all_logits=*/true));
  auto t3 = std::chrono::steady_clock::now();
  SF_RETURN_IF_ERROR(wh::write_npy((std::filesystem::path(o.out) / "logits.npy").string(), logits,
                               {tokens.size(), static_cast<size_t>(hp.n_vocab)}));
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  SF_LOG_INFO("whisper-probe: {} on {} in {} (mel {:.1f} ms, encoder {:.1f} ms, decoder {:.1f} ms for {} tokens) -> {}",
              model->name(), wh::device_name(session->options().device),
              wh::compute_type_name(session->options().compute_type), ms(t0, t1), ms(t1, t2), ms(t2, t3), tokens.size(), o.out);
  return {};
}

void register_probe(CLI::App& app, std::vector<Command>& out) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* cmd = app.add_subcommand("whisper-probe", "write a Whisper model's mel, encoder output and logits as .npy");
  cmd->add_option("--model", opts->model, "model folder (Hugging Face) or ggml file")->required();
  cmd->add_option("--audio", opts->audio, "audio or video file (first 30 s are used)")->required();
  cmd->add_option("--tokens", opts->tokens, "comma-separated decoder token ids, e.g. 50257,50362")->required();
  cmd->add_option("--out", opts->out, "output folder")->required();
  cmd->add_option("--threads", opts->threads, "compute threads")->capture_default_str();
  cmd->add_option("--device", opts->device, "auto | cpu | cuda[:N]")->capture_default_str();
  cmd->add_option("--compute-type", opts->compute_type, "auto | f32 | f16 | bf16 | int8 | int8_float16")
      ->capture_default_str();
  out.push_back({cmd, [opts]() {
                   Status st = run_probe(*opts);
                   if (!st.ok()) {
                     std::fprintf(stderr, "studioflow whisper-probe: %s\n", st.message().c_str());
                     return exit_code_for(st);
                   }
                   return kExitOk;
                 }});
}

// `model pull NAME [--dir D]`: fetches openai/whisper-NAME from the hub.
void register_model_pull(CLI::App& app, std::vector<Command>& out) {
  struct PullArgs {
    std::string name;
    std::string dir;
  };
  auto args = std::make_shared<PullArgs>();
  CLI::App* model = app.add_subcommand("model", "manage Whisper models");
  model->require_subcommand(1);
  CLI::App* pull = model->add_subcommand(
      "pull", "download openai/whisper-NAME from the Hugging Face hub (needs a network)");
  pull->add_option("NAME", args->name, "model name: tiny, base.en, small, large-v3, ...")->required();
  pull->add_option("--dir", args->dir,
                   "destination folder (default: " + wh::default_models_dir().string() + "/NAME)");
  out.push_back({pull, [args]() {
                   auto dest = wh::pull_model(args->name, args->dir);
                   if (!dest.ok()) {
                     std::fprintf(stderr, "studioflow model pull: %s\n", dest.status().message().c_str());
                     return exit_code_for(dest.status());
                   }
                   std::printf("%s\n", dest->string().c_str());
                   return kExitOk;
                 }});
}

}  // namespace

void register_whisper_tools(CLI::App& app, std::vector<Command>& out) {
  register_probe(app, out);
  register_model_pull(app, out);
}

}  // namespace sf::cli
