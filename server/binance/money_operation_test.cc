#include "binance/money_operation.h"

#include "binance/signed_request.h"
#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

TEST(MoneyOperationTest, EachOperationIsItsOwnEndpointAndRecords) {
  const MoneyOperation& borrow = MoneyOperationOf(OperationKind::kBorrow);
  const MoneyOperation& repay = MoneyOperationOf(OperationKind::kRepay);
  EXPECT_EQ(borrow.kind, OperationKind::kBorrow);
  EXPECT_EQ(repay.kind, OperationKind::kRepay);
  EXPECT_STREQ(borrow.path, kBorrowPath);
  EXPECT_STREQ(repay.path, kRepayPath);
  EXPECT_EQ(borrow.records_type, OperationKindName(OperationKind::kBorrow));
  EXPECT_EQ(repay.records_type, OperationKindName(OperationKind::kRepay));
  EXPECT_EQ(repay.own_record_type, "NORMAL_REPAY");
  EXPECT_TRUE(borrow.adds_liability);
  EXPECT_FALSE(repay.adds_liability);
  EXPECT_FALSE(borrow.moves_at_most_asked);
  EXPECT_TRUE(repay.moves_at_most_asked);
}

}  // namespace
}  // namespace loan_gateway::binance
