#include "budget/weight_budget.h"

#include "errors/error_details.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ManualClock;
const absl::Time kStart =
    absl::FromUnixSeconds(int64_t{1'700'000'000} / 60 * 60);

TEST(WeightBudgetTest, SixtyBorrowsAMinuteThenRefusedUntilTheNextMinute) {
  ManualClock clock(kStart);
  WeightBudget budget(clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(budget.TryReserve().ok()) << i;
  clock.now += absl::Seconds(45);
  absl::Status refused = budget.TryReserve();
  ASSERT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(refused, &info));
  EXPECT_EQ(info.reason(), "UPSTREAM_RATE_LIMITED");
  google::rpc::QuotaFailure quota;
  EXPECT_TRUE(errors::GetDetail(refused, &quota));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(refused, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 15);
  clock.now += absl::Seconds(15);
  EXPECT_TRUE(budget.TryReserve().ok()) << "a new minute";
}

TEST(WeightBudgetTest, BinanceCountIncludesOtherUsersOfTheKey) {
  ManualClock clock(kStart);
  WeightBudget budget(clock);
  ASSERT_TRUE(budget.TryReserve().ok());
  budget.ObserveUsed(177000);
  ASSERT_TRUE(budget.TryReserve().ok());  // 180000 exactly.
  EXPECT_FALSE(budget.TryReserve().ok());
  budget.ObserveUsed(3000);  // Lower than ours: ours stands.
  EXPECT_EQ(budget.used(), 180000);
}

TEST(WeightBudgetTest, ReleaseGivesBackAnUnsentReservation) {
  ManualClock clock(kStart);
  WeightBudget budget(clock, 3000);
  ASSERT_TRUE(budget.TryReserve().ok());
  EXPECT_FALSE(budget.TryReserve().ok());
  budget.Release();
  EXPECT_TRUE(budget.TryReserve().ok());
}

}  // namespace
}  // namespace loan_gateway
