#include "validate/decimal.h"

#include <string>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

struct AmountCase {
  std::string text;
  bool ok;
  std::string error_part;  // A fragment the error message must contain.
};

class DecimalParseTest : public testing::TestWithParam<AmountCase> {};

TEST_P(DecimalParseTest, AcceptsOnlyTheDocumentedSyntax) {
  const AmountCase& c = GetParam();
  absl::StatusOr<Decimal> parsed = Decimal::Parse(c.text);
  EXPECT_EQ(parsed.ok(), c.ok) << "'" << c.text << "': " << parsed.status();
  if (c.ok && parsed.ok()) {
    EXPECT_EQ(parsed->text(), c.text) << "every digit is kept as given";
  }
  if (!c.ok && !parsed.ok()) {
    EXPECT_NE(parsed.status().message().find(c.error_part), std::string::npos)
        << parsed.status();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DecimalParseTest,
    testing::Values(
        AmountCase{"1", true, ""}, AmountCase{"1000.5", true, ""},
        AmountCase{"0.00000001", true, ""}, AmountCase{"0.1", true, ""},
        AmountCase{"12345678901234567890.12345678", true, ""},
        AmountCase{"99999999999999999999", true, ""},
        AmountCase{"1.10", true, ""}, AmountCase{"", false, "empty"},
        AmountCase{"0", false, "greater than zero"},
        AmountCase{"0.00000000", false, "greater than zero"},
        AmountCase{"1e5", false, "exponent"},
        AmountCase{"1E5", false, "exponent"}, AmountCase{"-1", false, "sign"},
        AmountCase{"+1", false, "sign"}, AmountCase{" 1", false, "whitespace"},
        AmountCase{"1 ", false, "whitespace"},
        AmountCase{"1\t", false, "whitespace"},
        AmountCase{"1.123456789", false, "more than 8 decimals"},
        AmountCase{"123456789012345678901", false,
                   "more than 20 integer digits"},
        AmountCase{"1.2.3", false, "at most one"},
        AmountCase{".5", false, "before"}, AmountCase{"5.", false, "after"},
        AmountCase{"01", false, "leading zeros"},
        AmountCase{"00.5", false, "leading zeros"},
        AmountCase{"1,5", false, "only digits"},
        AmountCase{"NaN", false, "only digits"},
        AmountCase{"Infinity", false, "only digits"},
        AmountCase{"0x10", false, "only digits"},
        AmountCase{std::string("1\0", 2), false, "only digits"},
        AmountCase{"\xd9\xa1", false, "only digits"}));  // Arabic-Indic one.

TEST(DecimalParseUpstreamTest, KeepsBinanceDigitsExactly) {
  for (const char* text : {"123456.78", "0", "0.000000000001", "1.50000000",
                           "99999999999999999999.123456789012"}) {
    absl::StatusOr<Decimal> parsed = Decimal::ParseUpstream(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->text(), text);
  }
  EXPECT_FALSE(Decimal::ParseUpstream("1e5").ok());
  EXPECT_FALSE(Decimal::ParseUpstream("-1").ok());
}

TEST(DecimalTest, SameNumberComparesAsNumbers) {
  EXPECT_TRUE(Decimal::SameNumber("1000.5", "1000.50000000"));
  EXPECT_TRUE(Decimal::SameNumber("10", "10.0"));
  EXPECT_TRUE(Decimal::SameNumber("0.1", "00.1"));
  EXPECT_TRUE(Decimal::SameNumber("10.5 ", "10.50")) << "a raw JSON token";
  EXPECT_FALSE(Decimal::SameNumber("10", "100"));
  EXPECT_FALSE(Decimal::SameNumber("1.5", "15"));
  EXPECT_FALSE(Decimal::SameNumber("", ""));
  EXPECT_TRUE(*Decimal::Parse("2.50") == *Decimal::ParseUpstream("2.5"));
}

}  // namespace
}  // namespace loan_gateway
