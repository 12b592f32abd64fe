#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sf::config {
namespace {

TEST(Config, DefaultsOfTheSeedDesign) {
  ::unsetenv("MAX_MODELS_PER_GPU");
  ::unsetenv("GPU_MEMORY_SAFETY_BUFFER");
  EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 4);
  EXPECT_DOUBLE_EQ(env_double("GPU_MEMORY_SAFETY_BUFFER"), 0.2);
  EXPECT_EQ(env_int("TRANSCRIPTION_TIMEOUT"), 300);
  EXPECT_FALSE(env_bool("FORCE_SINGLE_GPU"));
}

TEST(Config, EnvironmentOverridesAndBadValuesFallBack) {
  ::setenv("MAX_MODELS_PER_GPU", "2", 1);
  EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 2);
  ::setenv("MAX_MODELS_PER_GPU", "lots", 1);
  EXPECT_EQ(env_int("MAX_MODELS_PER_GPU"), 4);
  ::setenv("FORCE_SINGLE_GPU", "true", 1);
  EXPECT_TRUE(env_bool("FORCE_SINGLE_GPU"));
  EXPECT_NE(describe_env().find("FORCE_SINGLE_GPU"), std::string::npos);
  ::unsetenv("MAX_MODELS_PER_GPU");
  ::unsetenv("FORCE_SINGLE_GPU");
}

}  // namespace
}  // namespace sf::config
