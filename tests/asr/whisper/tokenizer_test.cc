#include "asr/whisper/tokenizer.h"

#include <gtest/gtest.h>

#include "asr/whisper/test_vocab.h"
#include "asr/whisper/utf8.h"

namespace sf::asr::whisper {
namespace {

using testing::SyntheticVocab;
using testing::TempDir;

struct Loaded {
  std::unique_ptr<Tokenizer> tok;
  int n_regular = 0;
};

Loaded load(const TempDir& tmp, bool tokenizer_json, bool list_timestamps = true) {
  SyntheticVocab v{tmp.path() / (tokenizer_json ? "tj" : "vm"), testing::default_merges(),
                   testing::default_specials(), list_timestamps};
  Loaded out;
  out.n_regular = testing::write_vocab(v, tokenizer_json);
  auto t = Tokenizer::load_hf(v.dir);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  if (t.ok()) out.tok = std::move(t).value();
  return out;
}

const std::vector<std::string>& samples() {
  static const std::vector<std::string> s = {
      "Hello world",
      " the weather in there",
      "Café, déjà vu — naïve élan",
      "你好，世界。北京欢迎你",
      "emoji 😀🎉 and ✨ ok",
      "  leading   and trailing spaces  ",
      "tabs\tand\nnewlines\r\n",
      "it's we'll they're I'd you've I'm",
      "numbers 123 4567 and ½ ²",
      "Привет мир ελληνικά עברית",
  };
  return s;
}

class TokenizerFormats : public ::testing::TestWithParam<bool> {};

TEST_P(TokenizerFormats, RoundTripsText) {
  TempDir tmp;
  Loaded l = load(tmp, GetParam());
  ASSERT_NE(l.tok, nullptr);
  for (const auto& text : samples()) {
    auto ids = l.tok->encode(text);
    ASSERT_TRUE(ids.ok());
    for (int id : *ids) EXPECT_LT(id, l.n_regular) << text;
    EXPECT_EQ(l.tok->decode(*ids), text);
  }
}

TEST_P(TokenizerFormats, AppliesMergesInRankOrder) {
  TempDir tmp;
  Loaded l = load(tmp, GetParam());
  ASSERT_NE(l.tok, nullptr);
  auto one = [&](const std::string& s) {
    auto ids = l.tok->encode(s);
    EXPECT_TRUE(ids.ok());
    EXPECT_EQ(ids->size(), 1u) << s;
    return ids->empty() ? -1 : ids->front();
  };
  // Merged pieces are whole tokens whose bytes are the piece.
  for (const char* piece : {" the", " world", "Hello", " in", "\xC3\xA9", "\xE4\xBD\xA0"}) {
    int id = one(piece);
    EXPECT_EQ(l.tok->token_bytes(id), piece);
    EXPECT_EQ(l.tok->piece_id(piece), id);
  }
  // " there": " the" merges before "er" could form, leaving "r" and "e".
  auto there = l.tok->encode(" there");
  ASSERT_TRUE(there.ok());
  ASSERT_EQ(there->size(), 3u);
  EXPECT_EQ(l.tok->token_bytes((*there)[0]), " the");
  // An unmerged byte stays a single-byte token.
  auto z = l.tok->encode("z");
  ASSERT_TRUE(z.ok());
  ASSERT_EQ(z->size(), 1u);
  EXPECT_EQ(l.tok->token_bytes(z->front()), "z");
}

TEST_P(TokenizerFormats, SpecialAndTimestampTokens) {
  TempDir tmp;
  Loaded l = load(tmp, GetParam());
  ASSERT_NE(l.tok, nullptr);
  const Tokenizer& t = *l.tok;
  const SpecialTokens& s = t.special();
  const int base = l.n_regular;
  EXPECT_EQ(s.eot, base);
  EXPECT_EQ(s.sot, base + 1);
  EXPECT_EQ(s.first_language, base + 2);
  EXPECT_EQ(s.n_languages, 3);
  EXPECT_EQ(t.language_id("zh"), base + 3);
  EXPECT_EQ(t.language_code(base + 4), "de");
  EXPECT_EQ(t.language_id("fr"), -1);
  EXPECT_EQ(s.translate, base + 5);
  EXPECT_EQ(s.transcribe, base + 6);
  EXPECT_EQ(s.start_of_prev, base + 8);
  EXPECT_EQ(s.no_speech, base + 9);  // <|nocaptions|> in this vocabulary
  EXPECT_EQ(s.no_timestamps, base + 10);
  EXPECT_EQ(s.timestamp_begin, base + 11);
  EXPECT_TRUE(t.multilingual());
  EXPECT_EQ(t.special_id("<|notimestamps|>"), s.no_timestamps);
  EXPECT_EQ(t.special_id("<|1.50|>"), s.timestamp_begin + 75);
  EXPECT_EQ(t.special_id("<|30.00|>"), t.last_timestamp());
  EXPECT_TRUE(t.is_timestamp(s.timestamp_begin));
  EXPECT_TRUE(t.is_timestamp(t.last_timestamp()));
  EXPECT_FALSE(t.is_timestamp(s.no_timestamps));
  EXPECT_DOUBLE_EQ(t.timestamp_of(s.timestamp_begin + 75), 1.5);
  EXPECT_EQ(t.vocab_size(), t.last_timestamp() + 1);

  auto hello = t.encode(" the world");
  ASSERT_TRUE(hello.ok());
  std::vector<int> seq = {s.sot, t.language_id("en"), s.transcribe, s.timestamp_begin};
  seq.insert(seq.end(), hello->begin(), hello->end());
  seq.push_back(s.timestamp_begin + 50);
  seq.push_back(s.eot);
  EXPECT_EQ(t.decode(seq), " the world");
  EXPECT_EQ(t.decode(seq, true),
            "<|startoftranscript|><|en|><|transcribe|><|0.00|> the world<|1.00|><|endoftext|>");
}

INSTANTIATE_TEST_SUITE_P(Whisper, TokenizerFormats, ::testing::Values(true, false),
                         [](const auto& param_info) { return param_info.param ? "TokenizerJson" : "VocabMerges"; });

TEST(WhisperTokenizer, TimestampsFollowNoTimestampsWhenUnlisted) {
  TempDir tmp;
  Loaded l = load(tmp, false, /*list_timestamps=*/false);
  ASSERT_NE(l.tok, nullptr);
  const SpecialTokens& s = l.tok->special();
  EXPECT_EQ(s.timestamp_begin, s.no_timestamps + 1);
  EXPECT_EQ(l.tok->special_id("<|2.00|>"), s.timestamp_begin + 100);
  EXPECT_EQ(l.tok->decode(std::vector<int>{s.timestamp_begin + 100}, true), "<|2.00|>");
}

TEST(WhisperTokenizer, SplitCharactersDecodeSafely) {
  TempDir tmp;
  Loaded l = load(tmp, true);
  ASSERT_NE(l.tok, nullptr);
  auto ids = l.tok->encode("😀");  // four bytes, no merges: four tokens
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 4u);
  std::string partial = l.tok->decode(std::span<const int>(ids->data(), 2));
  EXPECT_TRUE(utf8::valid(partial));
  EXPECT_EQ(partial, "\xEF\xBF\xBD\xEF\xBF\xBD");  // two replacement characters
  EXPECT_EQ(l.tok->decode(*ids), "😀");
  EXPECT_EQ(l.tok->token_bytes((*ids)[0]), "\xF0");
}

TEST(WhisperTokenizer, PretokenizerFollowsGpt2Pattern) {
  EXPECT_EQ(pretokenize("Hello world's  123!!"),
            (std::vector<std::string>{"Hello", " world", "'s", " ", " 123", "!!"}));
  EXPECT_EQ(pretokenize("a\n\nb  "), (std::vector<std::string>{"a", "\n", "\n", "b", "  "}));
  EXPECT_EQ(pretokenize(" déjà-vu 北京"), (std::vector<std::string>{" déjà", "-", "vu", " 北京"}));
  EXPECT_EQ(pretokenize("x😀😀 y"), (std::vector<std::string>{"x", "😀😀", " y"}));
  EXPECT_EQ(pretokenize("we'll'"), (std::vector<std::string>{"we", "'ll", "'"}));
}

TEST(WhisperTokenizer, ByteMappingIsInvertible) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string text = bytes_to_unicode_text(all);
  EXPECT_EQ(text, testing::gpt2_text(all));
  std::string back;
  ASSERT_TRUE(unicode_text_to_bytes(text, &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(unicode_text_to_bytes("\xE4\xBD\xA0", &back));  // U+4F60 is outside the mapping
}

TEST(WhisperTokenizer, GgmlVocabularyLayout) {
  // Multilingual: 50257 regular tokens, specials derived from the size.
  std::vector<std::string> pieces(50257);
  for (size_t i = 0; i < pieces.size(); ++i) pieces[i] = "t" + std::to_string(i);
  pieces[220] = " ";
  auto ml = Tokenizer::from_token_bytes(pieces, 51865);
  ASSERT_TRUE(ml.ok());
  const SpecialTokens& s = (*ml)->special();
  EXPECT_TRUE((*ml)->multilingual());
  EXPECT_EQ(s.eot, 50257);
  EXPECT_EQ(s.sot, 50258);
  EXPECT_EQ(s.n_languages, 99);
  EXPECT_EQ((*ml)->language_id("en"), 50259);
  EXPECT_EQ(s.translate, 50358);
  EXPECT_EQ(s.transcribe, 50359);
  EXPECT_EQ(s.start_of_prev, 50361);
  EXPECT_EQ(s.no_speech, 50362);
  EXPECT_EQ(s.no_timestamps, 50363);
  EXPECT_EQ(s.timestamp_begin, 50364);
  EXPECT_EQ((*ml)->vocab_size(), 51865);
  EXPECT_EQ((*ml)->piece_id(" "), 220);
  EXPECT_EQ((*ml)->decode(std::vector<int>{5, 50258, 7}), "t5t7");
  auto enc = (*ml)->encode("hello");
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().code(), Code::kUnsupported);

  // large-v3: one more language shifts the task tokens.
  auto v3 = Tokenizer::from_token_bytes(pieces, 51866);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ((*v3)->special().n_languages, 100);
  EXPECT_EQ((*v3)->language_id("yue"), 50358);
  EXPECT_EQ((*v3)->special().translate, 50359);
  EXPECT_EQ((*v3)->special().timestamp_begin, 50365);

  // English-only: GPT-2's 50256 regular tokens.
  pieces.resize(50256);
  auto en = Tokenizer::from_token_bytes(pieces, 51864);
  ASSERT_TRUE(en.ok());
  EXPECT_FALSE((*en)->multilingual());
  EXPECT_EQ((*en)->special().eot, 50256);
  EXPECT_EQ((*en)->special().sot, 50257);
  EXPECT_EQ((*en)->special().translate, 50357);
  EXPECT_EQ((*en)->special().no_timestamps, 50362);
  EXPECT_EQ((*en)->special().timestamp_begin, 50363);
}

TEST(WhisperTokenizer, MissingAndBrokenFilesAreErrors) {
  TempDir tmp;
  auto none = Tokenizer::load_hf(tmp.path());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  std::ofstream(tmp.path() / "tokenizer.json") << "{ not json";
  auto bad = Tokenizer::load_hf(tmp.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt);
  EXPECT_NE(bad.status().message().find("tokenizer.json"), std::string::npos);
}

}  // namespace
}  // namespace sf::asr::whisper
