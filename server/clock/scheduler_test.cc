#include "clock/scheduler.h"

#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(TimerThreadTest, RunsTasksWhenDueInOrderOfTime) {
  TimerThread timer;
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  const absl::Time start = absl::Now();
  absl::Time ran_late;
  timer.RunAfter(absl::Milliseconds(300), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(2);
    ran_late = absl::Now();
    done.Notify();
  });
  // Added later but due sooner: the loop must wake for it.
  timer.RunAfter(absl::Milliseconds(50), [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_GE(ran_late - start, absl::Milliseconds(300)) << "never early";
}

TEST(TimerThreadTest, DropsTasksNotDueAtDestruction) {
  bool ran = false;
  {
    TimerThread timer;
    timer.RunAfter(absl::Hours(1), [&] { ran = true; });
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace loan_gateway
