#include "binance/borrow_response.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

struct ShapeCase {
  std::string body;
  std::string id;
  std::string amount;  // "" = absent.
};

class ReceiptShapesTest : public testing::TestWithParam<ShapeCase> {};

TEST_P(ReceiptShapesTest, KeepsEveryDigit) {
  absl::StatusOr<BorrowReceipt> receipt = ParseBorrowReceipt(GetParam().body);
  ASSERT_TRUE(receipt.ok()) << GetParam().body << ": " << receipt.status();
  EXPECT_EQ(receipt->transaction_id, GetParam().id);
  EXPECT_EQ(receipt->amount.value_or(""), GetParam().amount);
}

INSTANTIATE_TEST_SUITE_P(
    EveryShape, ReceiptShapesTest,
    testing::Values(
        // The documented example: numbers and an unquoted status.
        ShapeCase{
            R"({"transactionId":12317283617,"amount":123456.78,"status":success})",
            "12317283617", "123456.78"},
        ShapeCase{"{\n\"transactionId\": 12317283617,\n\"amount\": 123456.78,\n"
                  "\"status\": success\n}",
                  "12317283617", "123456.78"},
        ShapeCase{
            R"({"transactionId":"12317283617","amount":"123456.78","status":"success"})",
            "12317283617", "123456.78"},
        // Above 2^53: a double would round these.
        ShapeCase{
            R"({"transactionId":9007199254740993,"amount":0.1,"status":"success"})",
            "9007199254740993", "0.1"},
        ShapeCase{
            R"({"transactionId":18446744073709551615123,"amount":"1","status":success})",
            "18446744073709551615123", "1"},
        ShapeCase{R"({"transactionId":"9007199254740993","status":"SUCCESS"})",
                  "9007199254740993", ""},
        // Amount digits beyond double precision survive.
        ShapeCase{
            R"({"transactionId":1,"amount":12345678901234567890.12345678,"status":success})",
            "1", "12345678901234567890.12345678"},
        ShapeCase{
            R"({"status":success,"extra":{"a":[1,2,true,null]},"transactionId":5})",
            "5", ""}));

TEST(ParseBorrowReceiptTest, RejectsAnswersWithoutAReadableId) {
  for (const char* body :
       {"", "not json", "<html>ok</html>", "{}",
        R"({"amount":1,"status":success})",
        R"({"transactionId":null,"status":success})",
        R"({"transactionId":1.5})", R"({"transactionId":-3})",
        R"({"transactionId":""})", R"({"transactionId":{"x":1}})",
        R"({"transactionId":12,"status":failed})", R"([1,2])",
        R"({"transactionId":)"}) {
    EXPECT_FALSE(ParseBorrowReceipt(body).ok()) << body;
  }
}

TEST(QuoteBareWordsTest, QuotesOnlyBareWords) {
  EXPECT_EQ(
      QuoteBareWords(R"({"s":success,"n":-1.5e3,"t":true,"x":null,"q":"a b"})"),
      R"({"s":"success","n":-1.5e3,"t":true,"x":null,"q":"a b"})");
  EXPECT_EQ(QuoteBareWords(R"({"s":"esc\"aped"})"), R"({"s":"esc\"aped"})");
}

TEST(ParseBinanceErrorTest, ReadsCodeAndMessage) {
  auto e = ParseBinanceError(R"({"code":-27009,"msg":"too much"})");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, -27009);
  EXPECT_EQ(e->msg, "too much");
  EXPECT_FALSE(ParseBinanceError("<html>403</html>").has_value());
  EXPECT_FALSE(ParseBinanceError("").has_value());
  EXPECT_FALSE(ParseBinanceError(R"({"msg":"no code"})").has_value());
}

}  // namespace
}  // namespace loan_gateway::binance
