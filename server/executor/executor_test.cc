#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "executor/group_commit_executor.h"
#include "executor/thread_pool_executor.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

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

// Records the hooks' calls, in order, beside what the tasks did.
struct GroupLog {
  absl::Mutex mu;
  std::vector<std::string> events ABSL_GUARDED_BY(mu);
  void Add(std::string e) {
    absl::MutexLock lock(&mu);
    events.push_back(std::move(e));
  }
  std::vector<std::string> Take() {
    absl::MutexLock lock(&mu);
    return events;
  }
};

CommitGroupHooks LoggingHooks(GroupLog& log, absl::Status commit_result,
                              absl::Status begin_result = absl::OkStatus()) {
  return {.begin =
              [&log, begin_result] {
                log.Add("begin");
                return begin_result;
              },
          .commit =
              [&log, commit_result] {
                log.Add("commit");
                return commit_result;
              },
          .observe =
              [&log](size_t tasks, absl::Duration) {
                log.Add(absl::StrCat("observed ", tasks));
              }};
}

TEST(GroupCommitExecutorTest, RunsTasksInOrderOnItsOwnThreadAndDrains) {
  std::vector<int> order;
  std::set<std::thread::id> threads;
  {
    GroupCommitExecutor executor({.begin = [] { return absl::OkStatus(); },
                                  .commit = [] { return absl::OkStatus(); }});
    for (int i = 0; i < 100; ++i) {
      executor.Post([&order, &threads, i] {
        order.push_back(i);
        threads.insert(std::this_thread::get_id());
      });
    }
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
}

TEST(GroupCommitExecutorTest, TasksReadyTogetherShareOneCommit) {
  GroupLog log;
  absl::Notification started, release;
  {
    GroupCommitExecutor executor(LoggingHooks(log, absl::OkStatus()));
    // The first group holds the thread while three more tasks queue up.
    executor.Post([&] {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();
    for (int i = 0; i < 3; ++i) {
      executor.Post([&, i] {
        log.Add(absl::StrCat("write ", i));
        executor.AfterCommit([&, i](const absl::Status& s) {
          log.Add(absl::StrCat("durable ", i, " ", s.ok()));
        });
      });
    }
    release.Notify();
  }
  EXPECT_EQ(log.Take(), (std::vector<std::string>{
                            "begin", "commit", "observed 1", "begin", "write 0",
                            "write 1", "write 2", "commit", "observed 3",
                            "durable 0 1", "durable 1 1", "durable 2 1"}));
}

TEST(GroupCommitExecutorTest, AFailedCommitReachesEveryDeferredStep) {
  GroupLog log;
  {
    GroupCommitExecutor executor(
        LoggingHooks(log, absl::UnavailableError("disk full")));
    executor.Post([&] {
      executor.AfterCommit(
          [&](const absl::Status& s) { log.Add(std::string(s.message())); });
    });
  }
  EXPECT_EQ(log.Take(), (std::vector<std::string>{"begin", "commit",
                                                  "observed 1", "disk full"}));
}

TEST(GroupCommitExecutorTest, WithoutAGroupEachWriteWasItsOwnCommit) {
  GroupLog log;
  {
    // No transaction could be opened: the writes committed one by one, so
    // there is nothing to commit and nothing to wait for.
    GroupCommitExecutor executor(LoggingHooks(
        log, absl::OkStatus(), absl::UnavailableError("cannot begin")));
    executor.Post([&] {
      executor.AfterCommit(
          [&](const absl::Status& s) { log.Add(absl::StrCat("ok ", s.ok())); });
    });
  }
  EXPECT_EQ(log.Take(), (std::vector<std::string>{"begin", "ok 1"}));
}

TEST(GroupCommitExecutorTest, OutsideItsTasksNothingIsDeferred) {
  GroupLog log;
  GroupCommitExecutor executor(LoggingHooks(log, absl::OkStatus()));
  bool ran = false;
  executor.AfterCommit([&](const absl::Status& s) { ran = s.ok(); });
  EXPECT_TRUE(ran);
}

// The audit records of a group are its last writes: written after its tasks,
// told the commit's result before the tasks' deferred steps, in every group,
// whether or not its transaction could be opened.
TEST(GroupCommitExecutorTest, FinishingHooksFrameEveryCommit) {
  GroupLog log;
  for (absl::Status begin :
       {absl::OkStatus(), absl::UnavailableError("cannot begin")}) {
    CommitGroupHooks hooks =
        LoggingHooks(log, absl::UnavailableError("disk full"), begin);
    hooks.finish_writes = [&log] { log.Add("finish"); };
    hooks.committed = [&log](const absl::Status& s) {
      log.Add(absl::StrCat("committed ", s.message()));
    };
    GroupCommitExecutor executor(std::move(hooks));
    executor.Post([&] {
      executor.AfterCommit([&](const absl::Status& s) {
        log.Add(absl::StrCat("deferred ", s.message()));
      });
    });
  }
  EXPECT_EQ(log.Take(), (std::vector<std::string>{
                            "begin", "finish", "commit", "observed 1",
                            "committed disk full", "deferred disk full",
                            "begin", "finish", "committed ", "deferred "}));
}

// What a task posts while the executor drains still runs; `stopped` comes
// after the last of it.
TEST(GroupCommitExecutorTest, StoppedComesAfterEveryTaskPostedWhileDraining) {
  GroupLog log;
  {
    CommitGroupHooks hooks = LoggingHooks(log, absl::OkStatus());
    hooks.stopped = [&log] { log.Add("stopped"); };
    auto executor = std::make_unique<GroupCommitExecutor>(std::move(hooks));
    GroupCommitExecutor* raw = executor.get();
    raw->Post([&log, raw] {
      raw->AfterCommit([&log, raw](const absl::Status&) {
        raw->Post([&log] { log.Add("posted while draining"); });
      });
    });
    executor.reset();
  }
  std::vector<std::string> events = log.Take();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 1], "stopped");
  EXPECT_NE(std::find(events.begin(), events.end(), "posted while draining"),
            events.end());
}

TEST(GroupCommitExecutorTest, KnowsWhetherThisThreadIsInOneOfItsGroups) {
  GroupLog log;
  std::atomic<int> inside{0};
  {
    GroupCommitExecutor executor(LoggingHooks(log, absl::OkStatus()));
    EXPECT_FALSE(executor.InGroup());
    executor.Post([&] { inside = executor.InGroup() ? 1 : -1; });
  }
  EXPECT_EQ(inside.load(), 1);
}

}  // namespace
}  // namespace loan_gateway
