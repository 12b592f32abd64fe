#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "core/json.h"

namespace sf {
namespace {

TEST(Utf8, ValidTextIsUnchanged) {
  for (const char* s : {"", "plain", "café", "Αθήνα", "東京", "emoji\U0001F600"}) {
    EXPECT_TRUE(utf8::is_valid(s)) << s;
    EXPECT_EQ(utf8::to_valid(s), s);
  }
}

TEST(Utf8, Latin1BytesReadAsTheirCharacters) {
  EXPECT_FALSE(utf8::is_valid("caf\xE9.mp4"));
  EXPECT_EQ(utf8::to_valid("caf\xE9.mp4"), "café.mp4");
  EXPECT_EQ(utf8::to_valid("\xC9t\xE9"), "Été");
  EXPECT_EQ(utf8::to_valid("don\x92t"), "don\u2019t");  // Windows-1252 quote
  EXPECT_EQ(utf8::to_valid("\x80"), "\u20AC");          // Windows-1252 euro sign
}

TEST(Utf8, MalformedSequencesAreNotUtf8) {
  for (const char* s : {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80x", "\xE2\x82"}) {
    EXPECT_FALSE(utf8::is_valid(s)) << s;
    const std::string fixed = utf8::to_valid(s);
    EXPECT_TRUE(utf8::is_valid(fixed)) << s;
    EXPECT_FALSE(fixed.empty());
  }
}

TEST(Utf8, NextDecodesAndAppendRoundTrips) {
  const std::string text = "aé€\U0001F600";
  std::string back;
  std::size_t pos = 0;
  int count = 0;
  while (pos < text.size()) {
    utf8::append(back, utf8::next(text, pos));
    ++count;
  }
  EXPECT_EQ(count, 4);
  EXPECT_EQ(back, text);
}

TEST(DumpJson, NonUtf8StringsBecomeValidJson) {
  nlohmann::json j = {{"path", "caf\xE9.mp4"}, {"list", {"ok", "bad\xFF"}}, {"n", 3}};
  j["caf\xE9"] = "key";
  const std::string text = dump_json(j, 2);
  const nlohmann::json back = nlohmann::json::parse(text);  // throws if not valid JSON
  EXPECT_EQ(back["path"], "café.mp4");
  EXPECT_EQ(back["list"][1], "bad\u00FF");
  EXPECT_EQ(back["café"], "key");
  EXPECT_EQ(back["n"], 3);
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what dump_json protects from
}

TEST(DumpJson, ValidJsonIsDumpedAsIs) {
  const nlohmann::json j = {{"a", "Αθήνα"}, {"b", {1, 2}}};
  EXPECT_EQ(dump_json(j), j.dump());
  EXPECT_EQ(dump_json(j, 2), j.dump(2));
}

}  // namespace
}  // namespace sf
