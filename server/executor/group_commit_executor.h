#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_GROUP_COMMIT_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_GROUP_COMMIT_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "executor/durable_executor.h"

namespace loan_gateway {

// What opens and closes one group of tasks: the journal's transaction.
struct CommitGroupHooks {
  // Opens the group's transaction. On an error the tasks still run, each
  // write then committing on its own.
  std::function<absl::Status()> begin;
  // Commits the group: everything written is durable when it returns OK.
  std::function<absl::Status()> commit;
  // Optional, for every group, begun or not: the group's last writes, after
  // its tasks and before its commit (the audit records they appended)...
  std::function<void()> finish_writes;
  // ...and, after the commit (or after finish_writes when begin failed), its
  // status, before the work the tasks deferred with AfterCommit.
  std::function<void(const absl::Status&)> committed;
  // Optional: once the executor's thread has run its last task and stopped,
  // in the destructor, before the executor is gone (what posts to it must
  // stop doing so here).
  std::function<void()> stopped;
  // How many tasks a commit covered and how long it took (metrics).
  std::function<void(size_t tasks, absl::Duration commit)> observe;
};

// Runs tasks one at a time, in order, on its own thread, in groups: every
// task ready when a group starts (up to `max_group`) runs inside one
// transaction, which then commits with one fsync however many writes it
// holds (group commit). What the tasks deferred with AfterCommit runs after
// that commit, in order, on the same thread.
class GroupCommitExecutor final : public DurableExecutor {
 public:
  explicit GroupCommitExecutor(CommitGroupHooks hooks, size_t max_group = 512);
  ~GroupCommitExecutor() override;  // Runs every task already posted.

  void Post(std::function<void()> task) override;
  void AfterCommit(std::function<void(const absl::Status&)> then) override;
  // Whether this thread is running one of this executor's tasks: what it
  // writes now goes into the running group.
  bool InGroup() const;

 private:
  void Loop();
  void RunGroup(const std::deque<std::function<void()>>& tasks);

  const CommitGroupHooks hooks_;
  const size_t max_group_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The running group's deferred work: loop thread only.
  std::vector<std::function<void(const absl::Status&)>> after_commit_;
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_GROUP_COMMIT_EXECUTOR_H_
