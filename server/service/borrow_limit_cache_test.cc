#include "service/borrow_limit_cache.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(BorrowLimitCacheTest, OnlyAFreshFigureIsGiven) {
  BorrowLimitCache cache;
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  EXPECT_FALSE(cache.Fresh(1001, "USDT", t, absl::Seconds(1)));
  cache.Put(1001, "USDT", "48999.5", t);
  ASSERT_TRUE(
      cache.Fresh(1001, "USDT", t + absl::Milliseconds(900), absl::Seconds(1)));
  EXPECT_EQ(cache.Fresh(1001, "USDT", t, absl::Seconds(1))->max_amount,
            "48999.5");
  EXPECT_FALSE(cache.Fresh(1001, "USDT", t + absl::Milliseconds(1001),
                           absl::Seconds(1)));
  EXPECT_FALSE(cache.Fresh(1001, "USDC", t, absl::Seconds(1)));
  EXPECT_FALSE(cache.Fresh(1002, "USDT", t, absl::Seconds(1)));
}

TEST(BorrowLimitCacheTest, AnOlderReadingNeverWinsAndForgetClears) {
  BorrowLimitCache cache;
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  cache.Put(1001, "USDT", "10", t);
  cache.Put(1001, "USDT", "99", t - absl::Seconds(1));
  EXPECT_EQ(cache.Fresh(1001, "USDT", t, absl::Seconds(5))->max_amount, "10");
  cache.Forget(1001);
  EXPECT_FALSE(cache.Fresh(1001, "USDT", t, absl::Seconds(5)));
}

}  // namespace
}  // namespace loan_gateway
