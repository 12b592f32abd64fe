#include "search/normalize.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sf::search {
namespace {

using Tokens = std::vector<std::string>;

TEST(NormalizeWord, LowercasesAscii) {
  EXPECT_EQ(normalize_word("Hello"), "hello");
  EXPECT_EQ(normalize_word("WORLD"), "world");
  EXPECT_EQ(normalize_word("already"), "already");
}

TEST(NormalizeWord, StripsSurroundingPunctuation) {
  EXPECT_EQ(normalize_word("hello,"), "hello");
  EXPECT_EQ(normalize_word("\"Hello!\""), "hello");
  EXPECT_EQ(normalize_word("(world)."), "world");
  EXPECT_EQ(normalize_word("...and"), "and");
  EXPECT_EQ(normalize_word("  spaced\t"), "spaced");
  EXPECT_EQ(normalize_word("--dash--"), "dash");
}

TEST(NormalizeWord, KeepsInternalApostrophesAndHyphens) {
  EXPECT_EQ(normalize_word("don't"), "don't");
  EXPECT_EQ(normalize_word("Well-Known,"), "well-known");
  EXPECT_EQ(normalize_word("rock'n'roll"), "rock'n'roll");
  EXPECT_EQ(normalize_word("U.S."), "u.s");
}

TEST(NormalizeWord, QuotingApostrophesAreStripped) {
  EXPECT_EQ(normalize_word("'tis"), "tis");
  EXPECT_EQ(normalize_word("dogs'"), "dogs");
  EXPECT_EQ(normalize_word("'quoted'"), "quoted");
}

TEST(NormalizeWord, FoldsTypographicApostrophes) {
  EXPECT_EQ(normalize_word("Don\u2019t"), "don't");           // right single quotation mark
  EXPECT_EQ(normalize_word("don\u2018t"), "don't");           // left single quotation mark
  EXPECT_EQ(normalize_word("don\u02BCt"), "don't");           // modifier letter apostrophe
  EXPECT_EQ(normalize_word("\u2018word\u2019"), "word");      // typographic quotes around
  EXPECT_EQ(normalize_word("\u201CQuoted\u201D"), "quoted");  // double quotes stripped
}

TEST(NormalizeWord, StripsLatin1Accents) {
  EXPECT_EQ(normalize_word("Café"), "cafe");
  EXPECT_EQ(normalize_word("ÉCOLE"), "ecole");
  EXPECT_EQ(normalize_word("über"), "uber");
  EXPECT_EQ(normalize_word("Ñandú"), "nandu");
  EXPECT_EQ(normalize_word("façade"), "facade");
  EXPECT_EQ(normalize_word("naïve"), "naive");
  EXPECT_EQ(normalize_word("Ørsted"), "orsted");
  EXPECT_EQ(normalize_word("ÀÁÂÃÄÅàáâãäå"), "aaaaaaaaaaaa");
  EXPECT_EQ(normalize_word("ÿ"), "y");
}

TEST(NormalizeWord, ExpandsLigaturesAndSpecialLetters) {
  EXPECT_EQ(normalize_word("Straße"), "strasse");
  EXPECT_EQ(normalize_word("Æsir"), "aesir");
  EXPECT_EQ(normalize_word("œuvre"), "oeuvre");
  EXPECT_EQ(normalize_word("Œil"), "oeil");
  EXPECT_EQ(normalize_word("Þórr"), "thorr");
  EXPECT_EQ(normalize_word("Ĳssel"), "ijssel");
}

TEST(NormalizeWord, StripsLatinExtendedAAccents) {
  EXPECT_EQ(normalize_word("Łódź"), "lodz");
  EXPECT_EQ(normalize_word("Dvořák"), "dvorak");
  EXPECT_EQ(normalize_word("Ğüneş"), "gunes");
  EXPECT_EQ(normalize_word("İstanbul"), "istanbul");
  EXPECT_EQ(normalize_word("Đorđe"), "dorde");
  EXPECT_EQ(normalize_word("Żółć"), "zolc");
  EXPECT_EQ(normalize_word("Ŵŷ"), "wy");
  EXPECT_EQ(normalize_word("Ħ"), "h");
  EXPECT_EQ(normalize_word("ſ"), "s");
  EXPECT_EQ(normalize_word("Ţară"), "tara");
  EXPECT_EQ(normalize_word("Ș"), "s");
}

TEST(NormalizeWord, DropsCombiningMarks) {
  EXPECT_EQ(normalize_word("Cafe\u0301"), "cafe");
  EXPECT_EQ(normalize_word("u\u0308ber"), "uber");
}

TEST(NormalizeWord, LowercasesGreekAndCyrillic) {
  EXPECT_EQ(normalize_word("ΑΘΗΝΑ"), "αθηνα");
  EXPECT_EQ(normalize_word("Москва"), "москва");
  EXPECT_EQ(normalize_word("Ёлка"), "елка");  // the diaeresis is an accent like any other
}

TEST(NormalizeWord, GermanSharpS) {
  EXPECT_EQ(normalize_word("Straße"), "strasse");
  EXPECT_EQ(normalize_word("STRASSE"), "strasse");
  EXPECT_EQ(normalize_word("\u1E9E"), "ss");  // capital sharp s
  EXPECT_EQ(normalize_word("Größe"), "grosse");
  EXPECT_EQ(normalize_word("GRÖSSE"), normalize_word("größe"));
}

TEST(NormalizeWord, GreekAccentsAndFinalSigma) {
  EXPECT_EQ(normalize_word("Αθήνα"), "αθηνα");
  EXPECT_EQ(normalize_word("Αθήνα"), normalize_word("ΑΘΗΝΑ"));
  EXPECT_EQ(normalize_word("ΟΔΟΣ"), normalize_word("οδός"));  // σ and final ς fold together
  EXPECT_EQ(normalize_word("Ελλάδα,"), "ελλαδα");
  EXPECT_EQ(normalize_word("ΐ"), "ι");  // iota with dialytika and tonos
}

TEST(NormalizeWord, CyrillicCaseAndAccents) {
  EXPECT_EQ(normalize_word("МОСКВА"), "москва");
  EXPECT_EQ(normalize_word("«Привет»,"), "привет");
  EXPECT_EQ(normalize_word("ЁЖ"), normalize_word("ёж"));
  EXPECT_EQ(normalize_word("Ђорђе"), "ђорђе");  // Serbian letters without decomposition stay
}

TEST(NormalizeWord, TurkishDottedAndDotlessI) {
  EXPECT_EQ(normalize_word("İstanbul"), "istanbul");
  EXPECT_EQ(normalize_word("İSTANBUL"), "istanbul");
  EXPECT_EQ(normalize_word("ılık"), "ilik");
  EXPECT_EQ(normalize_word("DİYARBAKIR"), "diyarbakir");
}

TEST(NormalizeWord, AccentsOfManyLanguages) {
  EXPECT_EQ(normalize_word("Ångström"), "angstrom");
  EXPECT_EQ(normalize_word("Việt"), "viet");
  EXPECT_EQ(normalize_word("Čeština"), "cestina");
  EXPECT_EQ(normalize_word("São"), "sao");
  // Composed and decomposed spellings are the same word.
  EXPECT_EQ(normalize_word("e\u0301te\u0301"), normalize_word("\u00E9t\u00E9"));
}

TEST(NormalizeWord, CompatibilityForms) {
  EXPECT_EQ(normalize_word("\uFB01nance"), "finance");      // fi ligature
  EXPECT_EQ(normalize_word("\uFF28\uFF45\uFF4C\uFF4C\uFF4F"), "hello");  // full-width
  EXPECT_EQ(normalize_word("\u2460"), "1");                  // circled digit one
}

TEST(NormalizeWord, HebrewAndArabicVowelSignsAreOptional) {
  EXPECT_EQ(normalize_word("שָׁלוֹם"), "שלום");
  EXPECT_EQ(normalize_word("كَتَبَ"), "كتب");
}

TEST(NormalizeWord, OtherScriptsPassThrough) {
  EXPECT_EQ(normalize_word("東京"), "東京");
  EXPECT_EQ(normalize_word("「東京」"), "東京");
  // Vowel signs, virama and voicing marks spell these words: they stay, and
  // decomposition is undone (Hangul syllables are whole again).
  EXPECT_EQ(normalize_word("हिन्दी"), "हिन्दी");
  EXPECT_EQ(normalize_word("สวัสดี"), "สวัสดี");
  EXPECT_EQ(normalize_word("がっこう"), "がっこう");
  EXPECT_EQ(normalize_word("한국어"), "한국어");
}

TEST(NormalizeWord, SymbolsAndEmojiAreNotWordCharacters) {
  EXPECT_EQ(normalize_word("emoji\U0001F600"), "emoji");
  EXPECT_EQ(normalize_word("\u266A"), "");  // ♪, as speech engines mark music
  EXPECT_EQ(tokenize("\u266A la la \u266A"), (Tokens{"la", "la"}));
}

TEST(FoldPattern, FoldsNonAsciiAndKeepsAscii) {
  EXPECT_EQ(fold_pattern("Straße"), "Strasse");
  EXPECT_EQ(fold_pattern("ΑΘΉΝΑ"), "αθηνα");
  EXPECT_EQ(fold_pattern("caf\u00E9\\S*"), "cafe\\S*");
  EXPECT_EQ(fold_pattern("(don\u2019t|\\d+)"), "(don't|\\d+)");
  EXPECT_EQ(fold_pattern("[A-Z]\\p{Greek}"), "[A-Z]\\p{Greek}");
}

TEST(NormalizeWord, InvalidUtf8IsReadAsLatin1) {
  EXPECT_EQ(normalize_word("caf\xE9"), "cafe");
  EXPECT_EQ(normalize_word("don\x92t"), "don't");  // Windows-1252 right quote
  EXPECT_EQ(normalize_word("\xC3"), "a");          // truncated sequence: the lone byte is Ã
}

TEST(NormalizeWord, EmptyAndPunctuationOnly) {
  EXPECT_EQ(normalize_word(""), "");
  EXPECT_EQ(normalize_word("?!"), "");
  EXPECT_EQ(normalize_word("\u2014"), "");  // em dash
  EXPECT_EQ(normalize_word("'"), "");
  EXPECT_EQ(normalize_word("\u00A0"), "");  // no-break space
}

TEST(NormalizeWord, Numbers) {
  EXPECT_EQ(normalize_word("42"), "42");
  EXPECT_EQ(normalize_word("$3.50,"), "3.50");
  EXPECT_EQ(normalize_word("1st"), "1st");
  EXPECT_EQ(normalize_word("x\u00B2"), "x2");
}

TEST(NormalizeWord, InvisibleCharactersVanish) {
  EXPECT_EQ(normalize_word("co\u00ADoperate"), "cooperate");  // soft hyphen
  EXPECT_EQ(normalize_word("\uFEFFword"), "word");            // byte-order mark
  EXPECT_EQ(normalize_word("zero\u200Bwidth"), "zerowidth");
}

TEST(Tokenize, SplitsAtWhitespaceAndPunctuation) {
  EXPECT_EQ(tokenize("Hello, World!"), (Tokens{"hello", "world"}));
  EXPECT_EQ(tokenize("  one\ttwo\nthree  "), (Tokens{"one", "two", "three"}));
  EXPECT_EQ(tokenize("a/b;c"), (Tokens{"a", "b", "c"}));
  EXPECT_EQ(tokenize("U.S.A."), (Tokens{"u", "s", "a"}));
}

TEST(Tokenize, ApostrophesInsideWordsStay) {
  EXPECT_EQ(tokenize("Don\u2019t stop"), (Tokens{"don't", "stop"}));
  EXPECT_EQ(tokenize("'Tis the dogs' day"), (Tokens{"tis", "the", "dogs", "day"}));
  EXPECT_EQ(tokenize("it ' s"), (Tokens{"it", "s"}));
}

TEST(Tokenize, HyphensSplit) {
  EXPECT_EQ(tokenize("well-known"), (Tokens{"well", "known"}));
  EXPECT_EQ(tokenize("stop\u2011motion"), (Tokens{"stop", "motion"}));
  EXPECT_EQ(tokenize("wait\u2014what"), (Tokens{"wait", "what"}));
}

TEST(Tokenize, NumbersKeepDecimalAndGroupingMarks) {
  EXPECT_EQ(tokenize("3.5 1,000 2024."), (Tokens{"3.5", "1,000", "2024"}));
  EXPECT_EQ(tokenize("one, two"), (Tokens{"one", "two"}));
  EXPECT_EQ(tokenize("5,a"), (Tokens{"5", "a"}));
}

TEST(Tokenize, FoldsLikeNormalizeWord) {
  EXPECT_EQ(tokenize("Crème BRÛLÉE"), (Tokens{"creme", "brulee"}));
  for (const char* word : {"Café", "Don\u2019t", "Straße!", "(Łódź)", "\u00ABquoted\u00BB"}) {
    const Tokens t = tokenize(word);
    ASSERT_EQ(t.size(), 1u) << word;
    EXPECT_EQ(t[0], normalize_word(word)) << word;
  }
}

TEST(Tokenize, EmptyInputs) {
  EXPECT_TRUE(tokenize("").empty());
  EXPECT_TRUE(tokenize("   ").empty());
  EXPECT_TRUE(tokenize("?! -- ...").empty());
}

}  // namespace
}  // namespace sf::search
