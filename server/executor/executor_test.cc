#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "executor/serial_executor.h"
#include "executor/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(SerialExecutorTest, RunsTasksInOrderAndDrainsOnDestruction) {
  std::vector<int> order;
  {
    SerialExecutor executor;
    for (int i = 0; i < 100; ++i)
      executor.Post([&order, i] { order.push_back(i); });
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(SerialExecutorTest, RunsOnOneThreadThatIsNotTheCaller) {
  std::set<std::thread::id> threads;
  {
    SerialExecutor executor;
    for (int i = 0; i < 20; ++i)
      executor.Post([&] { threads.insert(std::this_thread::get_id()); });
  }
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST(ThreadPoolExecutorTest, RunsEveryTaskBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    ThreadPoolExecutor pool(3);
    for (int i = 0; i < 1000; ++i) pool.Post([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 1000);
}

TEST(ThreadPoolExecutorTest, ABlockedTaskDoesNotHoldUpTheOthers) {
  ThreadPoolExecutor pool(2);
  absl::Notification release, other_ran;
  pool.Post([&] { release.WaitForNotification(); });
  pool.Post([&] { other_ran.Notify(); });
  EXPECT_TRUE(other_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release.Notify();
}

}  // namespace
}  // namespace loan_gateway
