#include <gtest/gtest.h>

#include <thread>

#include "media/av.h"

namespace sf::media {
namespace {

TEST(AvErrorCapture, CollectsErrorLinesLoggedOnThisThread) {
  AvErrorCapture outer;
  av_log(nullptr, AV_LOG_ERROR, "first problem %d\n", 1);
  av_log(nullptr, AV_LOG_INFO, "not an error\n");
  {
    AvErrorCapture inner;
    av_log(nullptr, AV_LOG_ERROR, "inner problem\n");
    EXPECT_EQ(inner.text(), "inner problem");
  }
  av_log(nullptr, AV_LOG_FATAL, "second problem\n");
  std::thread other([] { av_log(nullptr, AV_LOG_ERROR, "from another thread\n"); });
  other.join();
  EXPECT_EQ(outer.text(), "first problem 1; second problem");
}

TEST(AvErrorCapture, DropsTheContextPrefix) {
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  ASSERT_NE(codec, nullptr);
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  AvErrorCapture capture;
  av_log(ctx.get(), AV_LOG_ERROR, "with a context\n");
  EXPECT_EQ(capture.text(), "with a context");
}

}  // namespace
}  // namespace sf::media
