#include "asr/whisper/whisper_engine.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "asr/whisper/decoder.h"
#include "asr/whisper/mel.h"
#include "asr/whisper/model/model.h"
#include "asr/whisper/model/session.h"
#include "core/config.h"
#include "asr/whisper/model_store.h"
#include "asr/whisper/tokenizer.h"
#include "asr/whisper/transcriber.h"
#include "asr/whisper/vad.h"
#include "core/log.h"

namespace sf::asr::whisper {
namespace {

namespace fs = std::filesystem;

// The read-only part shared by every engine over one model file.
struct Shared {
  std::shared_ptr<const Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

Status check_specials(const Tokenizer& tok, const GenerationConfig& g, const std::string& path) {
  const SpecialTokens& s = tok.special();
  auto same = [&](const char* what, int a, int b) -> Status {
    if (a != b)
      return corrupt(path + ": tokenizer and model disagree on " + std::string(what) + " (" + std::to_string(a) +
                     " vs " + std::to_string(b) + ")");
    return {};
  };
  SF_RETURN_IF_ERROR(same("<|endoftext|>", s.eot, g.eot));
  SF_RETURN_IF_ERROR(same("<|startoftranscript|>", s.sot, g.sot));
  SF_RETURN_IF_ERROR(same("<|notimestamps|>", s.no_timestamps, g.no_timestamps));
  return same("the first timestamp", s.timestamp_begin, g.timestamp_begin);
}

// One copy of the weights per model file in the process: engines made
// while another holds the model share it.
std::mutex g_cache_mu;
std::map<std::string, std::weak_ptr<const Shared>>& cache_map() {
  static auto* cache = new std::map<std::string, std::weak_ptr<const Shared>>();
  return *cache;
}

Result<std::shared_ptr<const Shared>> load_shared(const std::string& path) {
  auto& cache = cache_map();
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(fs::path(path), ec);
  const std::string key = ec ? path : canon.string();
  std::lock_guard<std::mutex> lock(g_cache_mu);
  if (auto it = cache.find(key); it != cache.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto shared = std::make_shared<Shared>();
  SF_ASSIGN_OR_RETURN(shared->model, Model::load(path));
  const Model& m = *shared->model;
  const int n_vocab = m.hparams().n_vocab;
  if (m.format() == ModelFormat::kGgml) {
    SF_ASSIGN_OR_RETURN(shared->tokenizer, Tokenizer::from_token_bytes(m.ggml_vocab(), n_vocab));
  } else {
    auto tok = Tokenizer::load_hf(m.source_dir(), n_vocab);
    if (!tok.ok()) return tok.status().with_context("Whisper tokenizer of " + path);
    shared->tokenizer = std::move(tok).value();
  }
  SF_RETURN_IF_ERROR(check_specials(*shared->tokenizer, m.generation(), path));
  std::shared_ptr<const Shared> out = shared;
  cache[key] = out;
  return out;
}

// The decoding loop's view of a Session over one recording.
class SessionBackend : public DecoderBackend {
 public:
  SessionBackend(std::unique_ptr<Session> session, std::vector<AlignmentHead> heads, int max_windows)
      : session_(std::move(session)), heads_(std::move(heads)), max_windows_(max_windows) {}

  // Sets the recording that encode() windows refer to; `long_form` computes
  // its whole spectrogram once (Whisper normalises over the recording).
  Status set_audio(std::span<const float> audio, bool long_form) {
    audio_ = audio;
    mel_ = {};
    if (long_form) {
      SF_ASSIGN_OR_RETURN(mel_, log_mel_spectrogram_long(audio, hp().n_mels));
    }
    return {};
  }

  int n_vocab() const override { return hp().n_vocab; }
  int n_text_ctx() const override { return hp().n_text_ctx; }
  int n_audio_ctx() const override { return hp().n_audio_ctx; }
  int kv_slots() const override { return session_->kv_slots(); }
  int max_windows() const override { return max_windows_; }

  Status encode(std::span<const AudioWindow> windows) override {
    const int n_mels = hp().n_mels;
    const int frames = 2 * hp().n_audio_ctx;  // the encoder's input length (3000 in real models)
    std::vector<float> batch;
    batch.reserve(windows.size() * static_cast<size_t>(n_mels) * static_cast<size_t>(frames));
    for (const AudioWindow& w : windows) {
      std::vector<float> win;
      if (w.isolated || mel_.data.empty()) {
        const int64_t a = std::clamp<int64_t>(w.start_sample, 0, static_cast<int64_t>(audio_.size()));
        const int64_t b = std::clamp<int64_t>(w.start_sample + w.n_samples, a, static_cast<int64_t>(audio_.size()));
        SF_ASSIGN_OR_RETURN(win, log_mel_spectrogram(audio_.subspan(static_cast<size_t>(a), static_cast<size_t>(b - a)), n_mels));
      } else {
        win = mel_window(mel_, static_cast<int>(w.start_sample / kSamplesPerFrame));
      }
      for (int m = 0; m < n_mels; ++m) {
        const auto row = win.begin() + static_cast<std::ptrdiff_t>(m) * kWindowFrames;
        const int keep = std::min(frames, kWindowFrames);
        batch.insert(batch.end(), row, row + keep);
        batch.insert(batch.end(), static_cast<size_t>(frames - keep), 0.0f);
      }
    }
    return session_->encode(batch, static_cast<int>(windows.size()));
  }

  Status decode(std::span<const DecodeStep> steps, std::vector<float>* logits) override {
    items_.clear();
    for (const DecodeStep& s : steps) items_.push_back({s.window, s.slot, s.tokens, s.n_past});
    return session_->decode(items_, logits, false);
  }

  void copy_kv(int src, int dst, int n) override { session_->copy_kv(src, dst, n); }

  Status cross_attention(int window, int slot, std::span<const int32_t> tokens, std::vector<float>* weights,
                         int* n_heads) override {
    SF_RETURN_IF_ERROR(session_->set_collect_cross_attention(heads_));
    DecodeItem item{window, slot, tokens, 0};
    std::vector<float> logits;
    Status st = session_->decode({&item, 1}, &logits, false);
    if (st.ok()) {
      std::span<const float> w = session_->cross_attention(0);
      weights->assign(w.begin(), w.end());
      *n_heads = static_cast<int>(heads_.size());
    }
    Status off = session_->set_collect_cross_attention({});
    if (!st.ok()) return st;
    return off;
  }

 private:
  const HParams& hp() const { return session_->model().hparams(); }

  std::unique_ptr<Session> session_;
  std::vector<AlignmentHead> heads_;
  int max_windows_ = 1;
  std::span<const float> audio_;
  Mel mel_;
  std::vector<DecodeItem> items_;
};

class WhisperEngine : public Engine {
 public:
  WhisperEngine(std::shared_ptr<const Shared> shared, std::unique_ptr<SessionBackend> backend, Decoder decoder,
                int batch_size)
      : shared_(std::move(shared)),
        backend_(std::move(backend)),
        decoder_(std::move(decoder)),
        batch_size_(batch_size) {}

  std::string name() const override { return "whisper:" + shared_->model->name(); }

  Result<Transcript> transcribe(std::span<const float> audio, double time_offset) override {
    if (audio.empty()) return Transcript{};
    if (batch_size_ > 1) {
      const std::vector<SpeechChunk> chunks = vad_chunks(audio);
      SF_RETURN_IF_ERROR(backend_->set_audio(audio, false));
      return transcribe_chunks(*backend_, decoder_, chunks, batch_size_, time_offset);
    }
    SF_RETURN_IF_ERROR(backend_->set_audio(audio, true));
    return transcribe_long(*backend_, decoder_, static_cast<int64_t>(audio.size()), time_offset);
  }

 private:
  std::shared_ptr<const Shared> shared_;  // keeps the model and tokenizer alive
  std::unique_ptr<SessionBackend> backend_;
  Decoder decoder_;
  int batch_size_ = 1;
};

}  // namespace

int loaded_model_count() {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  int n = 0;
  for (const auto& [path, weak] : cache_map()) n += weak.expired() ? 0 : 1;
  return n;
}

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options) {
  return create_engine(options, EngineTuning{});
}

Result<std::unique_ptr<Engine>> create_engine(const EngineOptions& options, const EngineTuning& tuning) {
  std::string value = options.model;
  if (value.empty()) value = config::env("WHISPER_MODEL_SIZE");
  if (options.threads < 1) return invalid_argument("whisper: --threads must be at least 1");
  if (options.batch_size < 1) return invalid_argument("whisper: --batch-size must be at least 1");
  if (options.beam_size < 1) return invalid_argument("whisper: --beam-size must be at least 1");
  SF_ASSIGN_OR_RETURN(std::string path, resolve_model(value));
  SF_ASSIGN_OR_RETURN(std::shared_ptr<const Shared> shared, load_shared(path));
  const Model& model = *shared->model;
  const GenerationConfig& g = model.generation();

  DecodeOptions d;
  d.language = options.language;
  d.task = options.task.empty() ? "transcribe" : options.task;
  d.beam_size = options.beam_size;
  d.initial_prompt = options.initial_prompt;
  d.hotwords = options.hotwords;
  if (!d.hotwords.empty() && !shared->tokenizer->can_encode()) {
    // Supercuts set hotwords by default: a model that cannot encode text
    // still transcribes, only without them.
    SF_LOG_WARN("whisper: {} is a ggml file, whose vocabulary can only decode: transcribing without hotwords",
                path);
    d.hotwords.clear();
  }
  d.word_timestamps = options.word_timestamps;
  d.max_initial_timestamp_index = g.max_initial_timestamp_index;
  if (!tuning.temperatures.empty()) d.temperatures = tuning.temperatures;
  d.sample_len = tuning.sample_len;
  if (!g.suppress_tokens_from_vocab && !g.suppress_tokens.empty()) {
    d.suppress_tokens = g.suppress_tokens;
    d.suppress_non_speech = false;
  }
  d.begin_suppress_tokens = g.begin_suppress_tokens;
  if (!d.initial_prompt.empty() && !shared->tokenizer->can_encode())
    return unsupported("whisper: --initial-prompt needs a tokenizer with merges; " + path +
                       " is a ggml file, whose vocabulary can only decode");
  SF_ASSIGN_OR_RETURN(Decoder decoder, Decoder::create(*shared->tokenizer, std::move(d), model.hparams().n_vocab,
                                                       model.hparams().n_text_ctx));

  SessionOptions so;
  SF_ASSIGN_OR_RETURN(so.device, parse_device(options.device));
  SF_ASSIGN_OR_RETURN(so.compute_type, parse_compute_type(options.compute_type));
  so.threads = options.threads;
  so.max_batch = options.batch_size;
  so.kv_slots = options.batch_size * decoder.slots_per_window();
  SF_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::create(shared->model, so));
  if (!session->fallback_reason().empty()) SF_LOG_WARN("whisper: {}", session->fallback_reason());
  SF_LOG_DEBUG("whisper: {} on {} in {} ({} threads, beam {}, batch {})", model.name(),
               device_name(session->options().device), compute_type_name(session->options().compute_type),
               options.threads, options.beam_size, options.batch_size);
  auto backend = std::make_unique<SessionBackend>(std::move(session), model.alignment_heads(), options.batch_size);
  return std::unique_ptr<Engine>(
      new WhisperEngine(std::move(shared), std::move(backend), std::move(decoder), options.batch_size));
}

}  // namespace sf::asr::whisper
