#include "clock/resync_loop.h"

#include <atomic>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(ResyncLoopTest,
     BacksOffQuicklyAfterFailuresAndWaitsTheIntervalAfterSuccess) {
  const ResyncPolicy policy{.interval = absl::Seconds(30),
                            .first_retry = absl::Milliseconds(200),
                            .max_retry = absl::Seconds(1)};
  EXPECT_EQ(ResyncLoop::NextWait(policy, 0), absl::Seconds(30));
  EXPECT_EQ(ResyncLoop::NextWait(policy, 1), absl::Milliseconds(200));
  EXPECT_EQ(ResyncLoop::NextWait(policy, 2), absl::Milliseconds(400));
  EXPECT_EQ(ResyncLoop::NextWait(policy, 3), absl::Milliseconds(800));
  EXPECT_EQ(ResyncLoop::NextWait(policy, 4), absl::Seconds(1));
  EXPECT_EQ(ResyncLoop::NextWait(policy, 50), absl::Seconds(1));
}

TEST(ResyncLoopTest, RetriesUntilTheFirstSuccessThenSettles) {
  std::atomic<int> calls{0};
  WatchThread watch("lg-test-watch");
  {
    ResyncLoop loop(watch,
                    [&] {
                      return ++calls < 4 ? absl::UnavailableError("not yet")
                                         : absl::OkStatus();
                    },
                    {.interval = absl::Hours(1),
                     .first_retry = absl::Milliseconds(5),
                     .max_retry = absl::Milliseconds(10)});
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_EQ(calls.load(), 4);  // Three failures retried, then the interval.
}

}  // namespace
}  // namespace loan_gateway
