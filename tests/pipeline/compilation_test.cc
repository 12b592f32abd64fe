// The compilation job on real speech (flite voices recognized by the real
// PocketSphinx engine), real decoding and a real render.
#include "pipeline/compilation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "media/media_fixture.h"
#include "media/probe.h"

namespace sf::pipeline {
namespace {

namespace fs = std::filesystem;

class CompilationJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("compilation");
    // Two short recordings: the word "budget" is said once in each, at a
    // known place after a second of silence.
    for (int i = 0; i < 2; ++i) {
      const fs::path speech = dir_ / ("speech" + std::to_string(i) + ".wav");
      const std::string text = i == 0 ? "The budget was approved by the council today."
                                      : "Teachers say the new budget helps every school.";
      ASSERT_TRUE(testing::sh("flite -voice rms -t '" + text + "' -o " + speech.string()));
      const fs::path out = dir_ / ("talk" + std::to_string(i) + ".m4a");
      ASSERT_TRUE(testing::sh("ffmpeg -nostdin -y -f lavfi -t 1 -i anullsrc=r=16000:cl=mono -i " + speech.string() +
                              " -filter_complex '[0][1]concat=n=2:v=0:a=1' -c:a aac -metadata title='Talk " +
                              std::to_string(i) + "' " + out.string()));
      inputs_.push_back(out.string());
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static CompilationRequest request() {
    CompilationRequest q;
    q.inputs = inputs_;
    q.target_words = {"budget"};
    q.transcribe.workers = 2;
    q.library.enabled = false;  // every run transcribes: progress and cancel are what is tested
    q.render.cpu_only = true;
    q.render.width = 160;
    q.render.height = 90;
    q.render.fps = 10;
    q.clip.padding_before = 0.2;
    return q;
  }

  static inline fs::path dir_;
  static inline std::vector<std::string> inputs_;
};

TEST_F(CompilationJobTest, CreateRejectsBadRequestsBeforeAnyWork) {
  auto q = request();
  q.target_words.clear();
  EXPECT_EQ(CompilationJob::create(q).status().code(), Code::kInvalidArgument);
  q = request();
  EXPECT_EQ(CompilationJob::create(q).status().code(), Code::kInvalidArgument) << "no output, not a dry run";
  q.dry_run = true;
  q.clip.padding_before = -1;
  EXPECT_EQ(CompilationJob::create(q).status().code(), Code::kInvalidArgument);
  q = request();
  q.dry_run = true;
  q.render.fps = 1000;
  EXPECT_EQ(CompilationJob::create(q).status().code(), Code::kInvalidArgument);
}

TEST_F(CompilationJobTest, RendersClipsInOrderWithIdsProgressAndReport) {
  auto q = request();
  q.output = (dir_ / "out.mp4").string();
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok()) << job.status().message();
  std::vector<Stage> stages;
  double last_audio = 0;
  bool audio_monotonic = true;
  int segments_completed = 0, total_segments = 0;
  auto r = (*job)->run([&](const CompilationProgress& p) {
    if (stages.empty() || stages.back() != p.stage) stages.push_back(p.stage);
    if (p.stage == Stage::kTranscribe) {
      if (p.audio_done + 1e-9 < last_audio) audio_monotonic = false;
      last_audio = p.audio_done;
      EXPECT_LE(p.segments_completed, p.total_segments);
      segments_completed = p.segments_completed;
      total_segments = p.total_segments;
      EXPECT_GE(p.current_video, 1);
      EXPECT_LE(p.current_video, 2);
    }
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->clips.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto& c = r->clips[static_cast<size_t>(i)];
    EXPECT_EQ(c.video, i);
    EXPECT_EQ(c.clip, 0);
    EXPECT_EQ(c.path, inputs_[static_cast<size_t>(i)]);
    EXPECT_GT(c.start, 0.8) << "the word comes after a second of silence";
    EXPECT_GT(c.output_end, c.output_start);
  }
  EXPECT_NEAR(r->clips[1].output_start, r->clips[0].output_end, 1e-9);
  EXPECT_TRUE(audio_monotonic);
  EXPECT_GE(total_segments, 2) << "each recording is at least one segment";
  EXPECT_EQ(segments_completed, total_segments);
  ASSERT_FALSE(stages.empty());
  EXPECT_EQ(stages.front(), Stage::kProbe);
  EXPECT_EQ(stages.back(), Stage::kDone);
  EXPECT_TRUE(std::is_sorted(stages.begin(), stages.end()));
  EXPECT_EQ(r->inputs[0].title, "Talk 0");
  const auto j = r->to_json();
  EXPECT_EQ(j["clips"].size(), 2u);
  EXPECT_EQ(j["clips"][1]["id"]["video"], 1);
  EXPECT_EQ(j["output"]["path"], q.output);
  EXPECT_TRUE(j["stages"].contains("render"));
  auto info = media::probe(q.output);
  ASSERT_TRUE(info.ok());
  EXPECT_NEAR(info->duration, r->rendered->duration, 0.2);
}

TEST_F(CompilationJobTest, CancelFromProgressStopsWithoutOutput) {
  auto q = request();
  q.output = (dir_ / "cancelled.mp4").string();
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  CompilationJob* j = job->get();
  auto r = j->run([&](const CompilationProgress& p) {
    if (p.stage == Stage::kTranscribe) j->cancel();
  });
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  EXPECT_FALSE(fs::exists(q.output));
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
  }
}

TEST_F(CompilationJobTest, NoMatchKeepsTheReport) {
  auto q = request();
  q.dry_run = true;
  q.target_words = {"elephant"};
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto r = (*job)->run();
  EXPECT_EQ(r.status().code(), Code::kNoMatch);
  ASSERT_EQ((*job)->last_report().inputs.size(), 2u);
  EXPECT_GT((*job)->last_report().inputs[0].words, 3u);
}

TEST_F(CompilationJobTest, BadInputFailsOrIsSkippedAsAsked) {
  auto q = request();
  q.dry_run = true;
  q.inputs.insert(q.inputs.begin() + 1, (dir_ / "missing.mp4").string());
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto r = (*job)->run();
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("missing.mp4"), std::string::npos);

  q.continue_on_input_error = true;
  job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  r = (*job)->run();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_NE(r->errors[0].find("missing.mp4"), std::string::npos);
  ASSERT_EQ(r->clips.size(), 2u);
  EXPECT_EQ(r->clips[0].video, 0);
  EXPECT_EQ(r->clips[1].video, 1) << "the unreadable input is left out before ids are given";
  EXPECT_EQ(r->clips[1].path, inputs_[1]);
}

TEST_F(CompilationJobTest, MaxClipsSetsEarlyTermination) {
  auto q = request();
  q.dry_run = true;
  q.clip.max_clips = 1;
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto r = (*job)->run();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->clips.size(), 1u);
  EXPECT_TRUE(r->early_termination);
}

TEST_F(CompilationJobTest, RenderBeginsWhileLaterInputsAreStillTranscribed) {
  // Three inputs, one transcription worker: segments finish in input order,
  // so the clips of the first input reach the renderer before the last
  // input's segments are transcribed.
  auto q = request();
  q.inputs = {inputs_[0], inputs_[1], inputs_[0]};
  q.transcribe.workers = 1;
  q.output = (dir_ / "overlap.mp4").string();
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok()) << job.status().message();
  std::vector<CompilationProgress> events;
  auto r = (*job)->run([&](const CompilationProgress& p) { events.push_back(p); });
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->clips.size(), 3u);
  ASSERT_FALSE(events.empty());
  const int segments = events.back().total_segments;
  ASSERT_GE(segments, 3);
  size_t first_render = events.size(), transcribed = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (first_render == events.size() && events[i].clips_total > 0) first_render = i;
    if (transcribed == events.size() && events[i].segments_completed == segments) transcribed = i;
  }
  ASSERT_LT(transcribed, events.size());
  EXPECT_LT(first_render, transcribed) << "clips were handed to the renderer only after all transcription";
  EXPECT_EQ(events[first_render].stage, Stage::kTranscribe);
  EXPECT_GT(events[first_render].render_total, 0);
  // Progress stays consistent: stages in order, clips and seconds done never
  // past those planned, and everything done at the end.
  Stage stage = Stage::kProbe;
  for (const auto& p : events) {
    EXPECT_GE(p.stage, stage);
    stage = p.stage;
    EXPECT_LE(p.clips_done, p.clips_total);
    EXPECT_LE(p.render_done, p.render_total + 1e-6);
  }
  EXPECT_EQ(events.back().stage, Stage::kDone);
  EXPECT_EQ(events.back().clips_done, 3);
  EXPECT_EQ(events.back().clips_total, 3);
  const auto j = r->to_json();
  EXPECT_TRUE(j["stages"].contains("render_tail"));
  EXPECT_LE(j["stages"]["render_tail"].get<double>(), j["stages"]["render"].get<double>() + 1e-6);

  // Without overlap: the same plan and the same output.
  q.overlap_render = false;
  q.output = (dir_ / "sequential.mp4").string();
  job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto s = (*job)->run();
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->clips.size(), r->clips.size());
  for (size_t i = 0; i < s->clips.size(); ++i) {
    EXPECT_EQ(s->clips[i].video, r->clips[i].video);
    EXPECT_DOUBLE_EQ(s->clips[i].start, r->clips[i].start);
    EXPECT_DOUBLE_EQ(s->clips[i].end, r->clips[i].end);
    EXPECT_DOUBLE_EQ(s->clips[i].output_start, r->clips[i].output_start);
  }
  EXPECT_EQ(s->rendered->frames, r->rendered->frames);
}

TEST_F(CompilationJobTest, MaxLengthAcrossInputsPlansTheSameWithOverlap) {
  // The cap ends the plan inside the second input: clips planned per input
  // as transcripts come must still be the prefix the whole plan keeps.
  auto q = request();
  q.inputs = {inputs_[0], inputs_[1], inputs_[0]};
  q.dry_run = true;
  auto job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto all = (*job)->run();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->clips.size(), 3u);
  const double first = all->clips[0].end - all->clips[0].start;
  const double second = all->clips[1].end - all->clips[1].start;
  q.dry_run = false;
  q.output = (dir_ / "capped.mp4").string();
  q.clip.max_length = first + second * 0.6;
  job = CompilationJob::create(q);
  ASSERT_TRUE(job.ok());
  auto r = (*job)->run();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->clips.size(), 2u);
  EXPECT_TRUE(r->early_termination);
  EXPECT_DOUBLE_EQ(r->clips[1].start, all->clips[1].start);
  EXPECT_NEAR(r->clips[1].end, all->clips[1].start + second * 0.6, 1e-9);
  EXPECT_NEAR(r->rendered->duration, *q.clip.max_length, 0.2);
}

}  // namespace
}  // namespace sf::pipeline
