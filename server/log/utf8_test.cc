#include "log/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

// Sizes and validity of the units `bytes` splits into.
std::string Units(absl::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    const Utf8Unit unit = NextUtf8Unit(bytes);
    if (!out.empty()) out += " ";
    out += (unit.valid ? "ok" : "bad") + std::to_string(unit.size);
    bytes.remove_prefix(unit.size);
  }
  return out;
}

TEST(NextUtf8UnitTest, DecodesWellFormedCharacters) {
  EXPECT_EQ(NextUtf8Unit("a").code_point, U'a');
  EXPECT_EQ(NextUtf8Unit("\xC3\xA9").code_point, U'\u00e9');
  EXPECT_EQ(NextUtf8Unit("\xE2\x82\xAC").code_point, U'\u20ac');
  EXPECT_EQ(NextUtf8Unit("\xF0\x9F\x98\x80").code_point, U'\U0001F600');
  EXPECT_EQ(NextUtf8Unit("\xF4\x8F\xBF\xBF").code_point, U'\U0010FFFF');
  EXPECT_EQ(NextUtf8Unit("\xEF\xBF\xBD").code_point, U'\uFFFD');
  EXPECT_EQ(Units("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), "ok1 ok2 ok3 ok4");
  EXPECT_EQ(Units(std::string("\0", 1)), "ok1");
}

TEST(NextUtf8UnitTest, OverlongFormsAreInvalid) {
  EXPECT_EQ(Units("\xC0\xAF"), "bad1 bad1");  // '/' in two bytes.
  EXPECT_EQ(Units("\xC1\xBF"), "bad1 bad1");
  EXPECT_EQ(Units("\xE0\x80\xAF"), "bad1 bad1 bad1");
  EXPECT_EQ(Units("\xE0\x9F\xBF"), "bad1 bad1 bad1");
  EXPECT_EQ(Units("\xF0\x80\x80\xAF"), "bad1 bad1 bad1 bad1");
  EXPECT_EQ(Units("\xF0\x8F\xBF\xBF"), "bad1 bad1 bad1 bad1");
}

TEST(NextUtf8UnitTest, SurrogatesAreInvalid) {
  EXPECT_EQ(Units("\xED\xA0\x80"), "bad1 bad1 bad1");  // U+D800
  EXPECT_EQ(Units("\xED\xBF\xBF"), "bad1 bad1 bad1");  // U+DFFF
  EXPECT_EQ(Units("\xED\x9F\xBF"), "ok3");             // U+D7FF
}

TEST(NextUtf8UnitTest, CodePointsAboveTheLastAreInvalid) {
  EXPECT_EQ(Units("\xF4\x90\x80\x80"), "bad1 bad1 bad1 bad1");  // U+110000
  EXPECT_EQ(Units("\xF5\x80\x80\x80"), "bad1 bad1 bad1 bad1");
  EXPECT_EQ(Units("\xF8\x88\x80\x80\x80"), "bad1 bad1 bad1 bad1 bad1");
  EXPECT_EQ(Units("\xFE\xFF"), "bad1 bad1");
}

TEST(NextUtf8UnitTest, TruncatedSequencesAreOneUnit) {
  EXPECT_EQ(Units("\xE2\x82"), "bad2");
  EXPECT_EQ(Units("\xF0\x9F\x98"), "bad3");
  EXPECT_EQ(Units("\xC3"), "bad1");
  EXPECT_EQ(Units("\xE2\x82"
                  "a"),
            "bad2 ok1");
  EXPECT_EQ(Units("\xF0\x9F\x98\xE2\x82\xAC"), "bad3 ok3");
}

TEST(NextUtf8UnitTest, StrayContinuationBytesAreInvalid) {
  EXPECT_EQ(Units("\x80"), "bad1");
  EXPECT_EQ(Units("a\xBF\x80"
                  "b"),
            "ok1 bad1 bad1 ok1");
  EXPECT_EQ(Units("\xC3\xA9\xA9"), "ok2 bad1");
}

// The example of Unicode 15, Table 3-8 (maximal subparts).
TEST(NextUtf8UnitTest, ReplacesMaximalSubpartsAsUnicodeRecommends) {
  EXPECT_EQ(Units("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "ok1 bad3 bad2 bad1 ok1 bad1 ok1 bad1 bad1 ok1");
}

TEST(Utf8PrefixTest, NeverSplitsACharacter) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // 1+2+3+4
  EXPECT_EQ(Utf8Prefix(text, 0), "");
  EXPECT_EQ(Utf8Prefix(text, 1), "a");
  EXPECT_EQ(Utf8Prefix(text, 2), "a");
  EXPECT_EQ(Utf8Prefix(text, 3), "a\xC3\xA9");
  EXPECT_EQ(Utf8Prefix(text, 5), "a\xC3\xA9");
  EXPECT_EQ(Utf8Prefix(text, 6), "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Utf8Prefix(text, 9), "a\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(Utf8Prefix(text, 10), text);
  EXPECT_EQ(Utf8Prefix(text, 1000), text);
  EXPECT_EQ(Utf8Prefix("", 5), "");
}

TEST(Utf8PrefixTest, CutsALongRequestIdToWholeCharacters) {
  // 127 bytes of ASCII then a 3-byte character: substr(0, 128) kept its first
  // byte alone, which is what made a log line invalid UTF-8.
  const std::string id = std::string(127, 'x') + "\xE2\x82\xAC";
  EXPECT_EQ(Utf8Prefix(id, 128), std::string(127, 'x'));
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";
  EXPECT_EQ(Utf8Prefix(euros, 128).size(), 126u);
}

TEST(Utf8PrefixTest, KeepsInvalidBytesAsTheyAre) {
  EXPECT_EQ(Utf8Prefix("a\xFF"
                       "b",
                       2),
            "a\xFF");
  // A truncated sequence is dropped whole rather than cut further.
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x98", 3), "a");
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x98", 4), "a\xF0\x9F\x98");
}

}  // namespace
}  // namespace loan_gateway
