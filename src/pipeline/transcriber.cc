#include "pipeline/transcriber.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <thread>

#include "core/bounded_queue.h"
#include "core/cancel.h"
#include "core/log.h"
#include "media/audio.h"
#include "pipeline/segmenter.h"
#include "workers/pool.h"

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

// The error for an exception caught at a job boundary, naming `what` (the
// input being worked on, or the stage).
Status from_exception(std::exception_ptr e, const std::string& what) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::bad_alloc&) {
    return internal_error(what + ": out of memory");
  } catch (const std::exception& ex) {
    return internal_error(what + ": " + ex.what());
  } catch (...) {
    return internal_error(what + ": unexpected failure");
  }
}

Status cancelled_status() { return cancelled("transcription stopped on request"); }

// Tells, in input order, when an input is complete: read to its end and
// every segment cut from it transcribed. `emit` runs under the tracker's
// lock, so calls are one at a time and in order. Thread-safe.
class InputCompletion {
 public:
  InputCompletion(size_t inputs, std::function<void(size_t)> emit)
      : cut_(inputs, 0), finished_(inputs, 0), read_(inputs, false), emit_(std::move(emit)) {}

  // The reading side, before the segment is queued.
  void segment_cut(size_t input) {
    std::lock_guard lock(mu_);
    ++cut_[input];
  }
  // A worker, once the segment's result is stored.
  void segment_finished(size_t input) {
    std::lock_guard lock(mu_);
    ++finished_[input];
    flush();
  }
  // The reading side, after the input's last segment was cut.
  void input_read(size_t input) {
    std::lock_guard lock(mu_);
    read_[input] = true;
    flush();
  }

 private:
  void flush() {
    while (next_ < read_.size() && read_[next_] && finished_[next_] == cut_[next_]) emit_(next_++);
  }

  std::mutex mu_;
  std::vector<int> cut_, finished_;  // GUARDED_BY(mu_)
  std::vector<bool> read_;           // GUARDED_BY(mu_)
  size_t next_ = 0;                  // GUARDED_BY(mu_)
  std::function<void(size_t)> emit_;
};

}  // namespace

Result<std::vector<InputTranscript>> transcribe_inputs(const std::vector<std::string>& paths,
                                                       const TranscribeOptions& options,
                                                       const ProgressFn& progress) {
  try {
    int workers = options.workers > 0 ? options.workers
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    // Worker processes: a pool given by the caller, or one for this call.
    std::unique_ptr<workers::WorkerPool> own_pool;
    workers::WorkerPool* pool = options.pool;
    if (pool == nullptr && options.processes) {
      SF_ASSIGN_OR_RETURN(own_pool, workers::WorkerPool::start(workers::pool_options_from_env(options.engine, workers)));
      pool = own_pool.get();
    }
    // One caller thread per segment the pool can hold keeps it busy.
    if (pool != nullptr) workers = pool->capacity();
    std::vector<InputTranscript> out(paths.size());
    std::vector<std::map<size_t, asr::Transcript>> parts(paths.size());
    std::mutex parts_mu;
    ErrorSlot error;
    BoundedQueue<Job> queue(static_cast<size_t>(workers) * 2);
    std::atomic<double> done{0};
    std::atomic<int> segments_cut{0}, segments_done{0};
    double total = 0;
    // An input's transcript is put together as soon as it is complete.
    std::vector<bool> assembled(paths.size(), false);
    auto assemble = [&](size_t i) {
      {
        std::lock_guard lock(parts_mu);
        for (auto& [idx, t] : parts[i]) out[i].transcript.append(std::move(t));
        parts[i].clear();
      }
      if (out[i].transcript.language.empty()) out[i].transcript.language = "en";
      assembled[i] = true;
    };
    InputCompletion completion(paths.size(), [&](size_t i) {
      if (error.failed()) return;
      assemble(i);
      if (options.input_done) options.input_done(i, out[i]);
    });

    // Check every input first, so a bad one fails before any work starts;
    // each is opened again when its turn comes, so only one is open at a time.
    for (const auto& p : paths) {
      SF_ASSIGN_OR_RETURN(auto r, media::AudioReader::open(p, asr::kSampleRate));
      total += r->duration();
    }

    auto worker = [&](int w) {
      const std::string* current = nullptr;  // the input being transcribed, for errors
      try {
        // In process, each worker builds its own engine on its own thread.
        std::unique_ptr<asr::Engine> engine;
        if (pool == nullptr) {
          auto made = asr::create_engine(options.engine);
          if (!made.ok()) {
            error.set(made.status());
            queue.close();
            return;
          }
          engine = std::move(made).value();
          SF_LOG_DEBUG("transcription worker {} ready ({})", w, engine->name());
        }
        while (auto job = queue.get()) {
          if (error.failed()) continue;  // drain
          if (stop_requested(options.cancel)) {
            error.set(cancelled_status());
            queue.close();
            continue;
          }
          current = &paths[job->input];
          const AudioSegment& seg = job->segment;
          asr::Transcript t;
          // Only the part holding sound goes to the engine: silence and
          // quiet cost nothing, and word times stay exact because the
          // offset moves with it.
          const double offset =
              static_cast<double>(seg.first_sample + static_cast<int64_t>(seg.sound_begin)) / asr::kSampleRate;
          const double sound_end =
              static_cast<double>(seg.first_sample + static_cast<int64_t>(seg.sound_end)) / asr::kSampleRate;
          if (!seg.silent && seg.sound_end > seg.sound_begin &&
              (!options.segment_wanted || options.segment_wanted(job->input, offset, sound_end))) {
            auto sound =
                std::span<const float>(seg.samples).subspan(seg.sound_begin, seg.sound_end - seg.sound_begin);
            auto r = pool != nullptr
                         ? pool->transcribe(sound, offset, options.cancel, options.engine.target_words)
                         : engine->transcribe(sound, offset);
            if (!r.ok()) {
              error.set(r.status().with_context(*current));
              queue.close();
              continue;
            }
            t = std::move(r).value();
          }
          {
            std::lock_guard lock(parts_mu);
            parts[job->input][job->index] = std::move(t);
          }
          completion.segment_finished(job->input);
          const double seconds = static_cast<double>(seg.length) / asr::kSampleRate;
          double now = done.load();
          while (!done.compare_exchange_weak(now, now + seconds)) {
          }
          if (progress) progress(now + seconds, total);
          const int finished = ++segments_done;
          if (options.segment_progress) options.segment_progress(finished, segments_cut.load());
        }
      } catch (...) {
        error.set(from_exception(std::current_exception(),
                                 current != nullptr ? *current : std::string("transcription worker")));
        queue.close();
      }
    };
    std::vector<std::thread> threads;
    auto stop_workers = [&] {
      queue.close();
      for (auto& t : threads) t.join();
    };
    try {
      threads.reserve(static_cast<size_t>(workers));
      for (int w = 0; w < workers; ++w) threads.emplace_back(worker, w);
    } catch (...) {
      stop_workers();
      return from_exception(std::current_exception(), "starting transcription workers");
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
    // The reading side: any exception here still closes the queue and joins
    // the workers before it becomes the error.
    size_t reading = 0;
    try {
      std::vector<float> block(asr::kSampleRate);
      for (; reading < paths.size() && !error.failed(); ++reading) {
        const size_t i = reading;
        size_t index = 0;
        int64_t samples = 0;
        auto reader = media::AudioReader::open(paths[i], asr::kSampleRate);
        if (!reader.ok()) {
          error.set(reader.status());
          break;
        }
        Segmenter seg(sopt, [&](AudioSegment s) {
          const int cut = ++segments_cut;
          if (options.segment_progress) options.segment_progress(segments_done.load(), cut);
          completion.segment_cut(i);
          queue.put(Job{i, index++, std::move(s)});
        });
        for (;;) {
          if (stop_requested(options.cancel)) error.set(cancelled_status());
          if (error.failed()) break;
          auto n = (*reader)->read(block);
          if (!n.ok()) {
            error.set(n.status());
            break;
          }
          if (*n == 0) break;
          samples += static_cast<int64_t>(*n);
          seg.push(std::span<const float>(block.data(), *n));
        }
        if (!error.failed()) seg.finish();
        out[i].path = paths[i];
        out[i].duration = static_cast<double>(samples) / asr::kSampleRate;
        if (!error.failed()) completion.input_read(i);
      }
    } catch (...) {
      error.set(from_exception(std::current_exception(),
                               reading < paths.size() ? paths[reading] : std::string("transcription")));
    }
    stop_workers();
    if (error.failed()) return error.get();

    for (size_t i = 0; i < paths.size(); ++i) {
      if (!assembled[i]) assemble(i);
    }
    return out;
  } catch (...) {
    return from_exception(std::current_exception(), "transcription");
  }
}

}  // namespace sf::pipeline
