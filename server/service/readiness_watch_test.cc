#include "service/readiness_watch.h"

#include <atomic>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(ReadinessWatchTest, ServesOnlyWhileEveryConditionHolds) {
  std::atomic<bool> clock_ok{false}, journal_ok{true};
  std::vector<bool> reported;
  absl::Mutex mu;
  WatchThread thread("lg-test-watch");
  ReadinessWatch watch(
      thread,
      {{"clock",
        [&] {
          return clock_ok ? absl::OkStatus()
                          : absl::UnavailableError("time unknown");
        }},
       {"journal",
        [&] {
          return journal_ok ? absl::OkStatus()
                            : absl::DataLossError("journal replaced");
        }}},
      [&](bool serving) {
        absl::MutexLock lock(&mu);
        reported.push_back(serving);
      },
      absl::Hours(1));  // Driven by CheckNow here.
  EXPECT_FALSE(watch.CheckNow());
  clock_ok = true;
  EXPECT_TRUE(watch.CheckNow());
  EXPECT_TRUE(watch.CheckNow());  // No change, no report.
  journal_ok = false;
  EXPECT_FALSE(watch.CheckNow());
  watch.Stop();
  journal_ok = true;
  watch.CheckNow();  // The drain owns health now.
  absl::MutexLock lock(&mu);
  EXPECT_EQ(reported, (std::vector<bool>{false, true, false}));
}

// The drain owns health once stopped: the periodic checks stop asking the
// conditions (with PostgreSQL, a query the drain's commits would wait for).
TEST(ReadinessWatchTest, OnceStoppedTheConditionsAreNoLongerAsked) {
  std::atomic<int> asked{0};
  WatchThread thread("lg-test-watch");
  ReadinessWatch watch(
      thread,
      {{"journal",
        [&] {
          ++asked;
          return absl::OkStatus();
        }}},
      [](bool) {}, absl::Milliseconds(5));
  for (int i = 0; i < 400 && asked.load() < 5; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_GE(asked.load(), 5) << "asked every 5 ms until stopped";
  watch.Stop();
  absl::SleepFor(absl::Milliseconds(10));  // A check in progress ends.
  const int at_stop = asked.load();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(asked.load(), at_stop);
}

}  // namespace
}  // namespace loan_gateway
