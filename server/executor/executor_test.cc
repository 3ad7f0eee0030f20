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
                            "begin", "finish", "commit", "committed disk full",
                            "observed 1", "deferred disk full", "begin",
                            "finish", "committed ", "deferred "}));
}

// With a flush hook (the SQLite journal's log sync) a group's commit does
// not make it durable: its AfterCommit steps wait for a flush, which runs
// beside the next group (lg-flush) when that group is already waiting.
TEST(GroupCommitExecutorTest, TheNextGroupRunsWhileTheLastIsFlushed) {
  GroupLog log;
  absl::Notification first_running, release_first, in_flush, release_flush,
      second_ran;
  std::atomic<int> flushes{0};
  CommitGroupHooks hooks = LoggingHooks(log, absl::OkStatus());
  hooks.flush = [&] {
    log.Add("flush");
    if (++flushes == 1) {
      in_flush.Notify();
      release_flush.WaitForNotification();
    }
    return absl::OkStatus();
  };
  hooks.durable = [&log](const absl::Status& s) {
    log.Add(absl::StrCat("durable ", s.ok()));
  };
  std::atomic<int> commits{0};
  absl::Notification second_committed;
  hooks.commit = [&, commit = hooks.commit] {
    absl::Status committed = commit();
    if (++commits == 2) second_committed.Notify();
    return committed;
  };
  {
    GroupCommitExecutor executor(std::move(hooks));
    executor.Post([&] {
      first_running.Notify();
      release_first.WaitForNotification();
      executor.AfterCommit([&](const absl::Status& s) {
        log.Add(absl::StrCat("deferred 1 ", s.ok()));
      });
    });
    first_running.WaitForNotification();
    executor.Post([&] {
      in_flush.WaitForNotification();  // The first group's, still under way.
      log.Add("task 2");
      executor.AfterCommit([&](const absl::Status& s) {
        log.Add(absl::StrCat("deferred 2 ", s.ok()));
      });
      second_ran.Notify();
    });
    release_first.Notify();
    ASSERT_TRUE(in_flush.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(
        second_committed.WaitForNotificationWithTimeout(absl::Seconds(10)));
    release_flush.Notify();
  }
  // The flusher's first "flush" may come before or after the second
  // group's "begin"; the rest is in this order.
  std::vector<std::string> events = log.Take();
  events.erase(std::find(events.begin(), events.end(), "flush"));
  EXPECT_EQ(events, (std::vector<std::string>{
                        "begin", "commit", "begin", "task 2", "commit",
                        "observed 1", "durable 1", "deferred 1 1", "flush",
                        "observed 1", "durable 1", "deferred 2 1"}));
  EXPECT_EQ(flushes.load(), 2);
}

// One flush for every group committed before it; its failure is each one's.
TEST(GroupCommitExecutorTest, AFailedFlushReachesEveryGroupItCovered) {
  GroupLog log;
  absl::Notification first_running, release_first;
  CommitGroupHooks hooks = LoggingHooks(log, absl::OkStatus());
  hooks.flush = [] { return absl::UnavailableError("fdatasync failed"); };
  {
    GroupCommitExecutor executor(std::move(hooks));
    executor.Post([&] {
      first_running.Notify();
      release_first.WaitForNotification();
    });
    first_running.WaitForNotification();
    for (int i = 0; i < 2; ++i) {
      executor.Post([&, i] {
        executor.AfterCommit([&, i](const absl::Status& s) {
          log.Add(absl::StrCat("deferred ", i, " ", s.message()));
        });
      });
    }
    release_first.Notify();
  }
  std::vector<std::string> events = log.Take();
  EXPECT_EQ(
      std::count(events.begin(), events.end(), "deferred 0 fdatasync failed"),
      1);
  EXPECT_EQ(
      std::count(events.begin(), events.end(), "deferred 1 fdatasync failed"),
      1);
}

// When nothing else is waiting the executor's own thread flushes: a one-caller
// borrow pays no hand-off to the flusher.
TEST(GroupCommitExecutorTest, AnIdleExecutorFlushesOnItsOwnThread) {
  std::thread::id flushed_on;
  std::thread::id ran_on;
  absl::Notification deferred_ran;
  {
    GroupCommitExecutor executor({.begin = [] { return absl::OkStatus(); },
                                  .commit = [] { return absl::OkStatus(); },
                                  .flush =
                                      [&] {
                                        flushed_on = std::this_thread::get_id();
                                        return absl::OkStatus();
                                      }});
    executor.Post([&] {
      ran_on = std::this_thread::get_id();
      executor.AfterCommit([&](const absl::Status&) { deferred_ran.Notify(); });
    });
    ASSERT_TRUE(deferred_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  EXPECT_EQ(flushed_on, ran_on);
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
