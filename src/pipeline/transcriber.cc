#include "pipeline/transcriber.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "core/bounded_queue.h"
#include "core/cancel.h"
#include "core/log.h"
#include "media/audio.h"
#include "pipeline/segmenter.h"

namespace sf::pipeline {
namespace {

struct Job {
  size_t input = 0;
  size_t index = 0;  // segment number within the input
  AudioSegment segment;
};

// First error wins; later ones are dropped.
class ErrorSlot {
 public:
  void set(Status s) {
    std::lock_guard lock(mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_ = true;
  }
  bool failed() const { return failed_; }
  Status get() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;  // GUARDED_BY(mu_)
  std::atomic<bool> failed_{false};
};

}  // namespace

Result<std::vector<InputTranscript>> transcribe_inputs(const std::vector<std::string>& paths,
                                                       const TranscribeOptions& options,
                                                       const ProgressFn& progress) {
  int workers = options.workers > 0 ? options.workers
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<InputTranscript> out(paths.size());
  std::vector<std::map<size_t, asr::Transcript>> parts(paths.size());
  std::mutex parts_mu;
  ErrorSlot error;
  BoundedQueue<Job> queue(static_cast<size_t>(workers) * 2);
  std::atomic<double> done{0};
  double total = 0;

  // Check every input first, so a bad one fails before any work starts;
  // each is opened again when its turn comes, so only one is open at a time.
  for (const auto& p : paths) {
    SF_ASSIGN_OR_RETURN(auto r, media::AudioReader::open(p, asr::kSampleRate));
    total += r->duration();
  }

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      // Each worker builds its own engine on its own thread.
      auto engine = asr::create_engine(options.engine);
      if (!engine.ok()) {
        error.set(engine.status());
        queue.close();
        return;
      }
      SF_LOG_DEBUG("transcription worker {} ready ({})", w, (*engine)->name());
      while (auto job = queue.get()) {
        if (error.failed()) continue;  // drain
        const double seconds = static_cast<double>(job->segment.samples.size()) / asr::kSampleRate;
        asr::Transcript t;
        // Leading and trailing quiet is not sent to the engine: less work,
        // and word times stay exact because the offset moves with it.
        auto [b, e] = job->segment.silent ? std::pair<size_t, size_t>{0, 0}
                                          : sound_bounds(job->segment.samples, asr::kSampleRate);
        if (e > b) {
          const double offset =
              static_cast<double>(job->segment.first_sample + static_cast<int64_t>(b)) / asr::kSampleRate;
          auto r = (*engine)->transcribe(std::span<const float>(job->segment.samples).subspan(b, e - b), offset);
          if (!r.ok()) {
            error.set(r.status().with_context(paths[job->input]));
            queue.close();
            continue;
          }
          t = std::move(r).value();
        }
        {
          std::lock_guard lock(parts_mu);
          parts[job->input][job->index] = std::move(t);
        }
        double now = done.load();
        while (!done.compare_exchange_weak(now, now + seconds)) {
        }
        if (progress) progress(now + seconds, total);
      }
    });
  }

  SegmenterOptions sopt;
  sopt.max_length = options.max_segment;
  // Whisper pads every window to 30 s, so short segments waste encoder work:
  // let its segments run close to the window. PocketSphinx does best on
  // phrase-sized utterances.
  // With --batch-size N the engine splits a segment into <= 30-s chunks
  // itself and decodes N at a time, so it is handed N windows' worth.
  if (options.engine.engine == "whisper") {
    sopt.max_length = options.max_segment * std::max(1, options.engine.batch_size);
    sopt.min_length = 0.8 * sopt.max_length;
  }
  std::vector<float> block(asr::kSampleRate);
  for (size_t i = 0; i < paths.size() && !error.failed(); ++i) {
    size_t index = 0;
    int64_t samples = 0;
    auto reader = media::AudioReader::open(paths[i], asr::kSampleRate);
    if (!reader.ok()) {
      error.set(reader.status());
      break;
    }
    Segmenter seg(sopt, [&](AudioSegment s) {
      queue.put(Job{i, index++, std::move(s)});
    });
    for (;;) {
      auto n = (*reader)->read(block);
      if (!n.ok()) {
        error.set(n.status());
        break;
      }
      if (stop_requested(options.cancel)) error.set(cancelled("transcription stopped on request"));
      if (*n == 0 || error.failed()) break;
      samples += static_cast<int64_t>(*n);
      seg.push(std::span<const float>(block.data(), *n));
    }
    seg.finish();
    out[i].path = paths[i];
    out[i].duration = static_cast<double>(samples) / asr::kSampleRate;
  }
  queue.close();
  for (auto& t : threads) t.join();
  if (error.failed()) return error.get();

  for (size_t i = 0; i < paths.size(); ++i) {
    for (auto& [idx, t] : parts[i]) out[i].transcript.append(std::move(t));
    if (out[i].transcript.language.empty()) out[i].transcript.language = "en";
  }
  return out;
}

}  // namespace sf::pipeline
