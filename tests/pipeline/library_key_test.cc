#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "asr/sphinx/adapt.h"
#include "asr/sphinx/denoise.h"
#include "pipeline/library_transcribe.h"

namespace sf::pipeline {
namespace {

TEST(LibraryKey, SphinxTranscriptsNameTheirNoiseReductionAndAdaptation) {
  TranscribeOptions o;
  o.engine.engine = "sphinx";
  auto key = transcript_key("abc", o);
  EXPECT_EQ(key.fingerprint, "abc");
  EXPECT_EQ(key.engine, "sphinx");
  auto options = nlohmann::json::parse(key.options);
  ASSERT_TRUE(options.contains("denoise")) << key.options;
  EXPECT_EQ(options["denoise"].get<int>(), asr::sphinx::kDenoiseVersion);
  ASSERT_TRUE(options.contains("adapt")) << key.options;
  EXPECT_EQ(options["adapt"].get<int>(), asr::sphinx::kAdaptVersion);
  // Whisper hears the audio as it is: its key has no such fields.
  o.engine.engine = "whisper";
  EXPECT_FALSE(nlohmann::json::parse(transcript_key("abc", o).options).contains("denoise"));
  EXPECT_FALSE(nlohmann::json::parse(transcript_key("abc", o).options).contains("adapt"));
}

}  // namespace
}  // namespace sf::pipeline
