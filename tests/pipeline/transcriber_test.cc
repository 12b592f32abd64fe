// The transcription pipeline with the real PocketSphinx engine on speech
// synthesized with flite at test time.
#include "pipeline/transcriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "asr/engine.h"
#include "core/cancel.h"
#include "media/audio.h"
#include "media/media_fixture.h"
#include "pipeline/library_transcribe.h"

namespace sf::pipeline {
namespace {

using sf::testing::sh;
using sf::testing::temp_dir;

class TranscriberTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir("transcriber"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }

  // A WAV of `text` spoken by flite's `voice`.
  std::string speak(const std::string& text, const std::string& name, const std::string& voice = "rms") const {
    EXPECT_TRUE(sh("flite -voice " + voice + " -t \"" + text + "\" -o " + path(name))) << text;
    return path(name);
  }

  // Sentences with `pause` seconds of silence around each, as one file.
  std::string talk(const std::vector<std::string>& sentences, const std::string& name, double pause,
                   const std::string& voice = "rms") const {
    std::string inputs, filter;
    for (size_t i = 0; i < sentences.size(); ++i) {
      inputs += " -i " + speak(sentences[i], name + std::to_string(i) + ".wav", voice);
      filter += "[" + std::to_string(i) + ":a]aresample=16000,apad=pad_dur=" + std::to_string(pause) + "[s" +
                std::to_string(i) + "];";
    }
    for (size_t i = 0; i < sentences.size(); ++i) filter += "[s" + std::to_string(i) + "]";
    filter += "concat=n=" + std::to_string(sentences.size()) + ":v=0:a=1";
    EXPECT_TRUE(sh("ffmpeg -v error -y" + inputs + " -filter_complex \"" + filter + "\" -ac 1 -ar 16000 " +
                   path(name)));
    return path(name);
  }

  static TranscribeOptions options(int workers) {
    TranscribeOptions o;
    o.workers = workers;
    return o;
  }

  std::filesystem::path dir_;
};

std::string text_of(const asr::Transcript& t) {
  std::string s;
  for (const auto& w : t.words()) s += (s.empty() ? "" : " ") + w.text;
  return s;
}

const asr::Word* find_word(const asr::Transcript& t, const std::string& text) {
  static thread_local std::vector<asr::Word> words;
  words = t.words();
  for (const auto& w : words) {
    if (w.text == text) return &w;
  }
  return nullptr;
}

const std::vector<std::string> kSentences = {"The budget was approved by the council today.",
                                             "Rain is expected across the north this weekend.",
                                             "Teachers say the new budget helps every school."};

TEST_F(TranscriberTest, OrderIsTheSameWhateverTheNumberOfWorkers) {
  std::vector<std::string> inputs = {talk(kSentences, "one.wav", 1.0),
                                     talk({kSentences[2], kSentences[0]}, "two.wav", 1.5, "awb"),
                                     talk({kSentences[1], kSentences[0]}, "three.wav", 0.7, "kal16")};
  auto serial = transcribe_inputs(inputs, options(1));
  ASSERT_TRUE(serial.ok()) << serial.status().message();
  auto popt = options(4);
  std::vector<size_t> told;
  std::vector<InputTranscript> told_results;
  popt.input_done = [&](size_t i, const InputTranscript& t) {
    told.push_back(i);
    told_results.push_back(t);
  };
  auto parallel = transcribe_inputs(inputs, popt);
  ASSERT_TRUE(parallel.ok()) << parallel.status().message();
  ASSERT_EQ(parallel->size(), inputs.size());
  // Each input told once, in input order, with the result returned for it.
  EXPECT_EQ(told, (std::vector<size_t>{0, 1, 2}));
  ASSERT_EQ(told_results.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(told_results[i].path, (*parallel)[i].path);
    EXPECT_DOUBLE_EQ(told_results[i].duration, (*parallel)[i].duration);
    EXPECT_EQ(text_of(told_results[i].transcript), text_of((*parallel)[i].transcript));
    EXPECT_EQ(told_results[i].transcript.language, (*parallel)[i].transcript.language);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(inputs[i]);
    EXPECT_EQ((*parallel)[i].path, inputs[i]);
    // PocketSphinx adapts its cepstral mean from one utterance to the next,
    // so which worker saw which segments may shift a word by a frame or
    // change a weak one; the order and the words that matter stay.
    auto b = (*parallel)[i].transcript.words();
    ASSERT_FALSE(b.empty());
    for (size_t k = 1; k < b.size(); ++k) EXPECT_GE(b[k].start, b[k - 1].start);
    const auto* sb = find_word((*serial)[i].transcript, "budget");
    ASSERT_NE(sb, nullptr) << text_of((*serial)[i].transcript);
    const double serial_at = sb->start;
    const auto* pb = find_word((*parallel)[i].transcript, "budget");
    ASSERT_NE(pb, nullptr) << text_of((*parallel)[i].transcript);
    EXPECT_NEAR(pb->start, serial_at, 0.05);
  }
  // Recognition works at all: the first talk's words come in spoken order.
  const auto& first = (*parallel)[0].transcript;
  const auto* budget = find_word(first, "budget");
  ASSERT_NE(budget, nullptr) << text_of(first);
  const double budget_at = budget->start;
  const auto* weekend = find_word(first, "weekend");
  ASSERT_NE(weekend, nullptr) << text_of(first);
  EXPECT_LT(budget_at, weekend->start);
}

TEST_F(TranscriberTest, BadInputIsNamedBeforeAnyWork) {
  auto good = speak(kSentences[0], "good.wav");
  { std::ofstream(path("notes.wav")) << "not audio at all\n"; }
  auto r = transcribe_inputs({good, path("notes.wav")}, options(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadMedia);
  EXPECT_NE(r.status().message().find("notes.wav"), std::string::npos) << r.status().message();

  auto missing = transcribe_inputs({good, path("gone.mp3")}, options(2));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("gone.mp3"), std::string::npos);

  auto opts = options(2);
  opts.engine.model = path("no-model-here");
  auto model = transcribe_inputs({good}, opts);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kNotFound);
  EXPECT_NE(model.status().message().find("no-model-here"), std::string::npos);
}

TEST_F(TranscriberTest, CorruptDataMidFileIsAnErrorOrSkippedNeverACrash) {
  // Garbage in the middle of an MP3: decoding skips what it cannot read.
  auto talk_mp3 = path("talk.mp3");
  ASSERT_TRUE(sh("ffmpeg -v error -y -i " + talk(kSentences, "talk.wav", 1.0) + " -c:a libmp3lame " + talk_mp3));
  {
    std::fstream f(talk_mp3, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20000);
    std::string junk(4000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto r = transcribe_inputs({talk_mp3}, options(2));
  if (!r.ok()) {
    EXPECT_NE(r.status().message().find("talk.mp3"), std::string::npos) << r.status().message();
  } else {
    EXPECT_NE(find_word((*r)[0].transcript, "school"), nullptr) << text_of((*r)[0].transcript);
  }
}

TEST_F(TranscriberTest, StopRequestEndsTheWorkWithCancelled) {
  auto input = talk(kSentences, "long.wav", 5.0);
  // The stop flag is process-wide and cannot be lowered again, so the stop
  // happens in a child process.
  EXPECT_EXIT(
      {
        std::atomic<int> calls{0};
        auto r = transcribe_inputs({input, input, input}, options(1), [&](double, double) {
          if (calls++ == 0) request_cancel();
        });
        const bool stopped_early = calls.load() < 6;
        std::exit(!r.ok() && r.status().code() == Code::kCancelled && stopped_early ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(TranscriberTest, EnginesAreMadeSafelyOnManyThreadsAtOnce) {
  auto wav = speak(kSentences[0], "s.wav");
  auto pcm = media::decode_audio(wav, asr::kSampleRate);
  ASSERT_TRUE(pcm.ok());
  constexpr int kThreads = 6;
  std::vector<std::string> texts(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready++;
      while (ready.load() < kThreads) std::this_thread::yield();
      auto engine = asr::create_engine({});
      if (!engine.ok()) {
        texts[static_cast<size_t>(t)] = "error: " + engine.status().message();
        return;
      }
      auto r = (*engine)->transcribe(*pcm, 0);
      texts[static_cast<size_t>(t)] = r.ok() ? text_of(*r) : "error: " + r.status().message();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_NE(texts[0].find("budget"), std::string::npos) << texts[0];
  for (const auto& t : texts) EXPECT_EQ(t, texts[0]);
}

// Targets change on a warm engine (a worker serving one job after
// another): it listens for the new words only, the same hits come back for
// the same words, and the one-best transcript of dictionary words is the
// one a plain engine writes.
TEST_F(TranscriberTest, AnEngineGivenNewTargetsListensForThoseOnly) {
  auto wav = speak("Doctor Okonkwo spoke to the council about the budget.", "s.wav");
  auto pcm = media::decode_audio(wav, asr::kSampleRate);
  ASSERT_TRUE(pcm.ok());
  auto plain = asr::create_engine({});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  auto heard = (*plain)->transcribe(*pcm, 0);
  ASSERT_TRUE(heard.ok());
  EXPECT_TRUE(heard->hits.empty());

  asr::EngineOptions o;
  o.target_words = {"budget", "council"};
  auto engine = asr::create_engine(o);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto queries = [](const asr::Transcript& t) {
    std::set<std::string> q;
    for (const auto& h : t.hits) q.insert(h.query);
    return q;
  };
  auto first = (*engine)->transcribe(*pcm, 0);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(text_of(*first), text_of(*heard));
  EXPECT_EQ(queries(*first), (std::set<std::string>{"budget", "council"}));

  // A name the dictionary lacks: pronounced by rule and listened for.
  ASSERT_TRUE((*engine)->set_targets({"okonkwo"}).ok());
  auto second = (*engine)->transcribe(*pcm, 1.0);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(queries(*second), (std::set<std::string>{"okonkwo"}));
  for (const auto& h : second->hits) EXPECT_GE(h.start, 1.0);  // times count from the offset given

  // Back to the first words: the same hits as the first time.
  ASSERT_TRUE((*engine)->set_targets({"budget", "council"}).ok());
  auto third = (*engine)->transcribe(*pcm, 0);
  ASSERT_TRUE(third.ok()) << third.status().message();
  ASSERT_EQ(third->hits.size(), first->hits.size());
  for (size_t i = 0; i < first->hits.size(); ++i) {
    EXPECT_EQ(third->hits[i].query, first->hits[i].query);
    EXPECT_NEAR(third->hits[i].start, first->hits[i].start, 1e-9);
    EXPECT_FLOAT_EQ(third->hits[i].spot_score, first->hits[i].spot_score);
    EXPECT_NEAR(third->hits[i].biased_posterior, first->hits[i].biased_posterior, 1e-4);
  }
}

// Noisy audio is heard through a model fitted to it (asr/sphinx/adapt.h),
// and only that audio: what an engine heard before changes nothing.
TEST_F(TranscriberTest, AnEngineFitsItsModelToNoisyAudioAndPutsItBack) {
  auto wav = speak("The budget was approved by the council today.", "s.wav");
  auto clean = media::decode_audio(wav, asr::kSampleRate);
  ASSERT_TRUE(clean.ok());
  // White noise 10 dB below the speech's mean power.
  double power = 0;
  for (float v : *clean) power += static_cast<double>(v) * v;
  power /= static_cast<double>(clean->size());
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, std::sqrt(power / 10));
  std::vector<float> noisy = *clean;
  for (auto& v : noisy) v = static_cast<float>(v + noise(rng));

  auto engine = asr::create_engine({});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto before = (*engine)->transcribe(*clean, 0);
  auto loud = (*engine)->transcribe(noisy, 0);
  auto after = (*engine)->transcribe(*clean, 0);
  ASSERT_TRUE(before.ok() && loud.ok() && after.ok());
  EXPECT_NE(text_of(*before).find("budget"), std::string::npos) << text_of(*before);
  // The clean audio after the noisy: the model as it was.
  EXPECT_EQ(text_of(*after), text_of(*before));
  ASSERT_EQ(after->words().size(), before->words().size());
  for (size_t i = 0; i < before->words().size(); ++i) {
    EXPECT_DOUBLE_EQ(after->words()[i].start, before->words()[i].start);
    EXPECT_FLOAT_EQ(after->words()[i].probability, before->words()[i].probability);
  }
  // The noisy audio on an engine that heard nothing before: the same fit,
  // the same words.
  auto fresh = asr::create_engine({});
  ASSERT_TRUE(fresh.ok());
  auto again = (*fresh)->transcribe(noisy, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(text_of(*again), text_of(*loud));
  EXPECT_FALSE(text_of(*loud).empty());
}

TEST_F(TranscriberTest, CentreOnlySpeechInSurroundIsRecognized) {
  auto mono = talk({kSentences[0]}, "mono.wav", 0.5);
  // Film sound: the voice only in the centre, quiet ambience elsewhere.
  auto film = path("film.ac3");
  ASSERT_TRUE(sh("ffmpeg -v error -y -i " + mono +
                 " -f lavfi -i \"anoisesrc=c=pink:a=0.003:r=48000:d=6\" -filter_complex "
                 "\"[0:a]aresample=48000,apad=whole_dur=6[v];[v][1:a]join=inputs=2:channel_layout=stereo[j];"
                 "[j]pan=5.1|FC=c0|FL=c1|FR=c1|BL=c1|BR=c1[o]\" -map \"[o]\" -c:a ac3 -b:a 384k " +
                 film));
  auto r = transcribe_inputs({film}, options(2));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& t = (*r)[0].transcript;
  EXPECT_NE(find_word(t, "budget"), nullptr) << text_of(t);
  EXPECT_NE(find_word(t, "council"), nullptr) << text_of(t);
}

TEST_F(TranscriberTest, WordAfterAHoleIsFoundWhereItIsSpoken) {
  auto wav = talk({"Welcome to the morning news.", kSentences[0]}, "clean.wav", 2.0);
  // The same talk with audio packets from 2.0 to 3.0 s missing (the quiet
  // after the first sentence): the second sentence keeps its time.
  auto clean = path("clean.mkv"), holed = path("holed.mkv");
  ASSERT_TRUE(sh("ffmpeg -v error -y -i " + wav + " -c:a libmp3lame -b:a 96k " + clean));
  ASSERT_TRUE(sh("ffmpeg -v error -y -i " + wav +
                 " -af \"aselect='not(between(t,2.0,3.0))'\" -c:a libmp3lame -b:a 96k " + holed));
  auto a = transcribe_inputs({clean}, options(2));
  auto b = transcribe_inputs({holed}, options(2));
  ASSERT_TRUE(a.ok() && b.ok());
  const auto* wa = find_word((*a)[0].transcript, "council");
  ASSERT_NE(wa, nullptr) << text_of((*a)[0].transcript);
  const double at = wa->start;
  const auto* wb = find_word((*b)[0].transcript, "council");
  ASSERT_NE(wb, nullptr) << text_of((*b)[0].transcript);
  EXPECT_NEAR(wb->start, at, 0.06);
}

TEST_F(TranscriberTest, LongMostlySilentInputSkipsTheSilenceAndKeepsTimes) {
  auto sentence = talk({kSentences[0]}, "sentence.wav", 0.5);
  // An hour of digital silence, then the sentence; FLAC keeps the file small.
  auto hour = path("hour.flac");
  ASSERT_TRUE(sh("ffmpeg -v error -y -f lavfi -i anullsrc=r=16000:cl=mono -i " + sentence +
                 " -filter_complex \"[0:a]atrim=duration=3600[z];[z][1:a]concat=n=2:v=0:a=1\" -c:a flac " + hour));
  auto alone = transcribe_inputs({sentence}, options(1));
  ASSERT_TRUE(alone.ok());
  const auto* w0 = find_word((*alone)[0].transcript, "council");
  ASSERT_NE(w0, nullptr) << text_of((*alone)[0].transcript);
  const double at = w0->start;
  std::atomic<int> segments{0};
  auto r = transcribe_inputs({hour}, options(2), [&](double, double) { segments++; });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NEAR((*r)[0].duration, 3600.0 + (*alone)[0].duration, 0.01);
  const auto* w = find_word((*r)[0].transcript, "council");
  ASSERT_NE(w, nullptr) << text_of((*r)[0].transcript);
  EXPECT_NEAR(w->start, 3600.0 + at, 0.03);
  // Only the sentence was recognized: the silence made no words.
  EXPECT_EQ(text_of((*r)[0].transcript), text_of((*alone)[0].transcript));
  EXPECT_GT(segments.load(), 100);  // the hour went through, in bounded pieces
}

TEST_F(TranscriberTest, LibraryTellsKnownAndTranscribedInputsInOrder) {
  const auto a = speak(kSentences[0], "a.wav");
  const auto b = speak(kSentences[1], "b.wav");
  const auto c = speak(kSentences[2], "c.wav");
  LibraryOptions lib;
  lib.path = path("library.sqlite");
  auto first = transcribe_with_library({a, b}, options(2), lib);
  ASSERT_TRUE(first.ok()) << first.status().message();
  // a and b known, c transcribed between them.
  auto o = options(2);
  std::vector<size_t> told;
  std::vector<std::string> texts;
  o.input_done = [&](size_t i, const InputTranscript& t) {
    told.push_back(i);
    texts.push_back(text_of(t.transcript));
  };
  LibraryStats stats;
  auto second = transcribe_with_library({a, c, b}, o, lib, {}, &stats);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(stats.known, 2u);
  EXPECT_EQ(told, (std::vector<size_t>{0, 1, 2}));
  ASSERT_EQ(texts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(texts[i], text_of((*second)[i].transcript)) << i;
  EXPECT_EQ(texts[0], text_of((*first)[0].transcript));
}

}  // namespace
}  // namespace sf::pipeline
