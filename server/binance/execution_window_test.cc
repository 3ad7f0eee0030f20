#include "binance/execution_window.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

TEST(ExecutionWindowTest, FollowsBinancesTimestampRule) {
  // Binance accepts while timestamp < t + 1000 and t - timestamp <= recvWindow.
  const ExecutionWindow w = WindowOf(100'000, 5000);
  EXPECT_FALSE(w.Contains(99'000))
      << "timestamp < t + 1000 is false at t = ts - 1000";
  EXPECT_TRUE(w.Contains(99'001));
  EXPECT_TRUE(w.Contains(105'000)) << "t - ts == recvWindow is accepted";
  EXPECT_TRUE(w.Contains(105'000 + kRecordLagMs))
      << "the record may lag the check";
  EXPECT_FALSE(w.Contains(105'001 + kRecordLagMs));
}

TEST(ExecutionWindowTest, ANextTimestampAfterTheWindowCannotOverlapIt) {
  const ExecutionWindow first = WindowOf(100'000, 5000);
  const int64_t next = FirstTimestampAfter(first.last_ms);
  EXPECT_FALSE(WindowOf(next, 5000).Overlaps(first));
  EXPECT_TRUE(WindowOf(next - 1, 5000).Overlaps(first))
      << "and it is the earliest";
  EXPECT_EQ(next - 100'000, 5000 + kRecordLagMs + kTimestampLeadMs)
      << "a few seconds: recvWindow plus two seconds";
}

}  // namespace
}  // namespace loan_gateway::binance
