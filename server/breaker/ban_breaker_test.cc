#include "breaker/ban_breaker.h"

#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ManualClock;
const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(BanBreakerTest, HoldsWithTheCausesCodeUntilRetryAfter) {
  ManualClock clock(kStart);
  BanBreaker breaker(clock);
  EXPECT_TRUE(breaker.Check().ok());
  const contract::ErrorRule& row = *contract::RuleForHttpStatus(418);
  absl::Status ban =
      contract::RuleError(row, "IP banned", {{"http_status", "418"}});
  breaker.Trip(row, ban, absl::Seconds(120));
  clock.now += absl::Seconds(20);
  absl::Status held = breaker.Check();
  ASSERT_EQ(held.code(), absl::StatusCode::kUnavailable);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(errors::GetDetail(held, &info));
  EXPECT_EQ(info.reason(), "UPSTREAM_BANNED");
  EXPECT_EQ(info.metadata().at("breaker"), "open");
  EXPECT_EQ(info.metadata().at("http_status"), "418");
  EXPECT_EQ(info.metadata().at("outcome"), "REJECTED") << "nothing was sent";
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(held, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 100);
  clock.now += absl::Seconds(100);
  EXPECT_TRUE(breaker.Check().ok());
  EXPECT_FALSE(breaker.open());
}

TEST(BanBreakerTest, AShorterTripDoesNotShortenALongerBan) {
  ManualClock clock(kStart);
  BanBreaker breaker(clock);
  const contract::ErrorRule& ban = *contract::RuleForHttpStatus(418);
  const contract::ErrorRule& limited = *contract::RuleForHttpStatus(429);
  breaker.Trip(ban, contract::RuleError(ban, "ban"), absl::Minutes(10));
  breaker.Trip(limited, contract::RuleError(limited, "429"), absl::Seconds(5));
  clock.now += absl::Minutes(5);
  EXPECT_EQ(breaker.Check().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace loan_gateway
