#include "binance/risk_unit_details.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

// Binance's documented example (docs/binance-institutional-loan.md),
// collateral accounts shortened.
constexpr char kExample[] = R"([ {
    "groupId": 1,
    "parentEmail": "andrew.kemmer001@test.com",
    "creditEmail": "tst20241120@test.com",
    "updateTime": 1752137105623,
    "ltv": "0.592",
    "totalNetEquity": "26.35196946",
    "totalMaintenanceMargin": "0.50106177",
    "totalLiability": "15.30718771",
    "parentAccountFrozenAmount": "8.18753688",
    "maxTransferOutAmount": "0",
    "maxAllowedBorrowLimit": "16.32397222",
    "liabilities": [
      {
        "assetName": "USDT",
        "principal": "15.30718771",
        "interest": "0"
      } ],
    "collateralAccounts": [
      {
        "email": "collateral001@test.com",
        "type": "COLLATERAL",
        "wallets": [ { "accountType": "SPOT", "netEquity": "5",
                       "maintainMargin": "0" } ] } ]
} ])";

TEST(RiskUnitDetailsTest, TheDocumentedExampleExactly) {
  absl::StatusOr<std::optional<RiskUnitDetails>> parsed =
      ParseRiskUnitDetails(kExample, 1);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->has_value());
  const RiskUnitDetails& d = **parsed;
  EXPECT_EQ(d.group_id, 1);
  EXPECT_EQ(d.update_time_ms, 1752137105623);
  EXPECT_EQ(d.ltv, "0.592");
  EXPECT_EQ(d.total_net_equity, "26.35196946");
  EXPECT_EQ(d.total_maintenance_margin, "0.50106177");
  EXPECT_EQ(d.total_liability, "15.30718771");
  EXPECT_EQ(d.parent_account_frozen_amount, "8.18753688");
  EXPECT_EQ(d.max_transfer_out_amount, "0");
  EXPECT_EQ(d.max_allowed_borrow_limit, "16.32397222");
  ASSERT_EQ(d.liabilities.size(), 1u);
  EXPECT_EQ(d.liabilities[0].asset_name, "USDT");
  EXPECT_EQ(d.liabilities[0].principal, "15.30718771");
  EXPECT_EQ(d.liabilities[0].interest, "0");
}

TEST(RiskUnitDetailsTest, AnotherUnitIsNotThisOne) {
  EXPECT_FALSE(ParseRiskUnitDetails(kExample, 2)->has_value());
  EXPECT_FALSE(ParseRiskUnitDetails("[]", 1)->has_value());
}

TEST(RiskUnitDetailsTest, NumbersKeepTheirTextAndBadShapesFail) {
  auto parsed = ParseRiskUnitDetails(
      R"([{"groupId":7,"ltv":0.123456789012345678901,"liabilities":[]}])", 7);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)->ltv, "0.123456789012345678901");
  for (const char* body :
       {"", "{}", "[1]", R"([{"ltv":"1"}])", R"([{"groupId":1,"ltv":"-1"}])",
        R"([{"groupId":1,"ltv":true}])",
        R"([{"groupId":1,"liabilities":[{"principal":"1"}]}])"}) {
    EXPECT_FALSE(ParseRiskUnitDetails(body, 1).ok()) << body;
  }
}

}  // namespace
}  // namespace loan_gateway::binance
