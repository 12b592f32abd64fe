// The OpenAI answer shapes of render_openai() on a known transcript.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "server/openai.h"

namespace sf::server {
namespace {

pipeline::InputTranscript sample() {
  pipeline::InputTranscript in;
  in.path = "talk.mp4";
  in.duration = 7.5;
  in.transcript.language = "en";
  asr::Segment a{"the budget passed", 1.0, 2.5, {{"the", 1.0, 1.2, 1.0f}, {"budget", 1.2, 1.8, 0.5f}, {"passed", 1.9, 2.5, 1.0f}}};
  asr::Segment b{"rain is expected", 4.25, 6.0, {{"rain", 4.25, 4.6, 1.0f}, {"is", 4.6, 4.8, 1.0f}, {"expected", 4.8, 6.0, 1.0f}}};
  in.transcript.segments = {a, b};
  return in;
}

TEST(OpenAiRender, JsonIsTheTextAlone) {
  std::string type;
  const auto body = nlohmann::json::parse(render_openai(sample(), {}, &type));
  EXPECT_EQ(type, "application/json");
  EXPECT_EQ(body, (nlohmann::json{{"text", "the budget passed rain is expected"}}));
}

TEST(OpenAiRender, VerboseJsonSegments) {
  OpenAiAnswer a;
  a.format = "verbose_json";
  a.temperature = 0.2;
  std::string type;
  const auto body = nlohmann::json::parse(render_openai(sample(), a, &type));
  EXPECT_EQ(body["task"], "transcribe");
  EXPECT_EQ(body["language"], "english");
  EXPECT_DOUBLE_EQ(body["duration"].get<double>(), 7.5);
  EXPECT_FALSE(body.contains("words"));
  ASSERT_EQ(body["segments"].size(), 2u);
  const auto& s0 = body["segments"][0];
  EXPECT_EQ(s0["id"], 0);
  EXPECT_EQ(s0["seek"], 100);
  EXPECT_EQ(body["segments"][1]["seek"], 425);
  EXPECT_DOUBLE_EQ(s0["start"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s0["end"].get<double>(), 2.5);
  EXPECT_EQ(s0["text"], "the budget passed");
  EXPECT_TRUE(s0["tokens"].is_array());
  EXPECT_DOUBLE_EQ(s0["temperature"].get<double>(), 0.2);
  // The mean log probability of its words: (0 + ln 0.5 + 0) / 3.
  EXPECT_NEAR(s0["avg_logprob"].get<double>(), std::log(0.5) / 3, 1e-6);
  EXPECT_DOUBLE_EQ(body["segments"][1]["avg_logprob"].get<double>(), 0.0);
  EXPECT_GT(s0["compression_ratio"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(s0["no_speech_prob"].get<double>(), 0.0);
}

TEST(OpenAiRender, WordsOnlyWhenAsked) {
  OpenAiAnswer a;
  a.format = "verbose_json";
  a.words = true;
  a.segments = false;
  a.task = "translate";
  std::string type;
  const auto body = nlohmann::json::parse(render_openai(sample(), a, &type));
  EXPECT_EQ(body["task"], "translate");
  EXPECT_FALSE(body.contains("segments"));
  ASSERT_EQ(body["words"].size(), 6u);
  EXPECT_EQ(body["words"][1], (nlohmann::json{{"word", "budget"}, {"start", 1.2}, {"end", 1.8}}));
}

TEST(OpenAiRender, SubtitlesAndText) {
  std::string type;
  OpenAiAnswer a;
  a.format = "srt";
  EXPECT_EQ(render_openai(sample(), a, &type).rfind("1\n00:00:01,000 --> 00:00:02,500\nthe budget passed\n", 0), 0u);
  a.format = "vtt";
  const std::string vtt = render_openai(sample(), a, &type);
  EXPECT_EQ(vtt.rfind("WEBVTT", 0), 0u);
  EXPECT_NE(vtt.find("00:00:04.250 --> 00:00:06.000"), std::string::npos);
  EXPECT_EQ(type.rfind("text/vtt", 0), 0u);
  a.format = "text";
  EXPECT_EQ(render_openai(sample(), a, &type), "the budget passed\nrain is expected\n");
  EXPECT_EQ(type.rfind("text/plain", 0), 0u);
}

}  // namespace
}  // namespace sf::server
