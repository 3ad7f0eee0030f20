#include "binance/error_message_templates.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

const char kLimit[] =
    "The requested borrow amount exceeds the maximum allowed limit. Maximum "
    "borrowable for asset {0} is {1}, but request {2}.";

TEST(MatchMessageTemplateTest, CapturesEachPlaceholder) {
  auto c = MatchMessageTemplate(
      kLimit,
      "The requested borrow amount exceeds the maximum allowed limit. Maximum "
      "borrowable for asset USDT is 5000, but request 6000.5.");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->at(0), "USDT");
  EXPECT_EQ(c->at(1), "5000");
  EXPECT_EQ(c->at(2), "6000.5");
}

TEST(MatchMessageTemplateTest, RefusesTextsThatAlmostMatch) {
  for (const char* msg : {
           // Binance's earlier, undocumented wording.
           "The requested borrow amount exceeds the maximum allowed limit. Max "
           "borrowable amount: 5000 USDT",
           // No final period.
           "The requested borrow amount exceeds the maximum allowed limit. "
           "Maximum borrowable for asset USDT is 5000, but request 6000",
           // An empty figure.
           "The requested borrow amount exceeds the maximum allowed limit. "
           "Maximum borrowable for asset USDT is , but request 6000.",
           // Something before the text.
           "Error: The requested borrow amount exceeds the maximum allowed "
           "limit. Maximum borrowable for asset USDT is 5000, but request "
           "6000.",
           // Different case.
           "the requested borrow amount exceeds the maximum allowed limit. "
           "Maximum borrowable for asset USDT is 5000, but request 6000.",
           "",
       }) {
    EXPECT_FALSE(MatchMessageTemplate(kLimit, msg).has_value()) << msg;
  }
}

TEST(ReadStatedFiguresTest, ReadsEachDocumentedTemplate) {
  auto limit = ReadStatedFigures(
      -27009,
      "The requested borrow amount exceeds the maximum allowed limit. Maximum "
      "borrowable for asset USDC is 0.5, but request 10.");
  ASSERT_TRUE(limit.has_value());
  EXPECT_EQ(limit->asset, "USDC");
  EXPECT_EQ(limit->max_amount, "0.5");
  EXPECT_EQ(limit->requested, "10");
  auto limit_zh = ReadStatedFigures(-27009,
                                    "请求的借贷额度超过最大可借额度,币种 USDT "
                                    "最大可借为 100,请求数量为 1000");
  ASSERT_TRUE(limit_zh.has_value());
  EXPECT_EQ(limit_zh->max_amount, "100");
  auto margin = ReadStatedFigures(
      -27012,
      "User has insufficient available margin to borrow asset USDT: requested "
      "10, available 2.25.");
  ASSERT_TRUE(margin.has_value());
  EXPECT_EQ(margin->available, "2.25");
  auto ltv = ReadStatedFigures(
      -27020, "风险单元 7 的 LTV 过高(81%),超出初始 LTV 阈值 75%");
  ASSERT_TRUE(ltv.has_value());
  EXPECT_EQ(ltv->ltv, "81%");
  EXPECT_EQ(ltv->initial_ltv, "75%");
}

TEST(ReadStatedFiguresTest, NoFigureUnlessEveryOneParses) {
  EXPECT_FALSE(
      ReadStatedFigures(-27009,
                        "The requested borrow amount exceeds the maximum "
                        "allowed limit. Maximum borrowable for asset USDT is "
                        "five thousand, but request 10.")
          .has_value());
  EXPECT_FALSE(
      ReadStatedFigures(-27009,
                        "The requested borrow amount exceeds the maximum "
                        "allowed limit. Maximum borrowable for asset usdt is "
                        "5000, but request 10.")
          .has_value());
  EXPECT_FALSE(
      ReadStatedFigures(-27012,
                        "User has insufficient available margin to borrow "
                        "asset USDT: requested 10, available -1.")
          .has_value());
  // A code without a documented template states nothing.
  EXPECT_FALSE(ReadStatedFigures(-27023, "Borrow failed 5000").has_value());
}

}  // namespace
}  // namespace loan_gateway::binance
