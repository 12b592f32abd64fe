#include "core/status.h"

#include <gtest/gtest.h>

namespace sf {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return invalid_argument("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  SF_ASSIGN_OR_RETURN(int h, half(x));
  SF_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

TEST(Status, PropagatesFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "odd");
}

TEST(Status, WithContextPrefixesMessage) {
  Status s = not_found("gone").with_context("a.mp4");
  EXPECT_EQ(s.message(), "a.mp4: gone");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_TRUE(Status().with_context("x").ok());
}

}  // namespace
}  // namespace sf
