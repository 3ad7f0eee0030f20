#include "threads/watch_thread.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(WatchThreadTest, EachCheckKeepsItsOwnRhythm) {
  WatchThread thread("lg-test-watch");
  std::atomic<int> often{0}, seldom{0};
  {
    PeriodicCheck quick(thread, [&] {
      ++often;
      return absl::Milliseconds(5);
    });
    PeriodicCheck slow(thread, [&] {
      ++seldom;
      return absl::Hours(1);
    });
    PeriodicCheck later(
        thread, [] { return absl::Hours(1); }, absl::Hours(1));
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_GE(often.load(), 10);
  EXPECT_EQ(seldom.load(), 1);  // At once, then not within the hour.
}

TEST(WatchThreadTest, AGoneCheckNeverRunsAgainAndItsRunFinishedFirst) {
  WatchThread thread("lg-test-watch");
  absl::Notification started;
  std::atomic<bool> finished{false};
  std::atomic<int> runs{0};
  auto check = std::make_unique<PeriodicCheck>(thread, [&] {
    ++runs;
    if (!started.HasBeenNotified()) started.Notify();
    absl::SleepFor(absl::Milliseconds(100));
    finished = true;
    return absl::Milliseconds(1);
  });
  started.WaitForNotification();
  check.reset();  // While it runs: waits for it.
  EXPECT_TRUE(finished.load());
  const int after = runs.load();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(runs.load(), after);
}

TEST(WatchThreadTest, AFailingCheckDoesNotStopTheOthers) {
  // One check's quick retries and another's interval interleave.
  WatchThread thread("lg-test-watch");
  std::atomic<int> retries{0}, steady{0};
  {
    PeriodicCheck retrying(thread, [&] {
      ++retries;
      return absl::Milliseconds(2);
    });
    PeriodicCheck interval(thread, [&] {
      ++steady;
      return absl::Milliseconds(40);
    });
    absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_GE(steady.load(), 4);
  EXPECT_GT(retries.load(), steady.load());
}

TEST(WatchThreadTest, ATaskRunsOnceAfterItsDelayBesideTheChecks) {
  WatchThread thread("lg-test-watch");
  std::atomic<int> once{0}, checks{0};
  PeriodicCheck check(thread, [&] {
    ++checks;
    return absl::Milliseconds(5);
  });
  const absl::Time start = absl::Now();
  absl::Notification ran;
  absl::Time ran_at;
  thread.RunAfter(absl::Milliseconds(60), [&] {
    ++once;
    ran_at = absl::Now();
    ran.Notify();
  });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(once.load(), 1);
  EXPECT_GE(ran_at - start, absl::Milliseconds(60));
  EXPECT_GE(checks.load(), 5);
}

TEST(WatchThreadTest, ACheckMayRemoveItselfFromWithin) {
  WatchThread thread("lg-test-watch");
  absl::Notification removed;
  std::unique_ptr<PeriodicCheck> check;
  absl::Mutex mu;
  {
    absl::MutexLock lock(&mu);
    check = std::make_unique<PeriodicCheck>(thread, [&] {
      {
        absl::MutexLock lock(&mu);
        check.reset();  // Must not wait for its own return.
      }
      removed.Notify();  // mu is not touched after this.
      return absl::Milliseconds(1);
    });
  }
  EXPECT_TRUE(removed.WaitForNotificationWithTimeout(absl::Seconds(5)));
}

}  // namespace
}  // namespace loan_gateway
