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
  // Commits the group: everything written is durable when it returns OK,
  // or, with `flush`, once flush has returned OK after it.
  std::function<absl::Status()> commit;
  // Optional: makes every group committed so far durable (the SQLite
  // journal's write-ahead log sync). With it, a group's flush runs on a
  // thread of its own (lg-flush) while the next groups run, and one flush
  // covers every group committed before it; a group's AfterCommit work
  // waits for it. When no task is waiting the executor's own thread
  // flushes, sparing the hand-off.
  std::function<absl::Status()> flush;
  // Optional, for every group, begun or not: the group's last writes, after
  // its tasks and before its commit (the audit records they appended)...
  std::function<void()> finish_writes;
  // ...and, on the executor's thread after the commit (or after
  // finish_writes when begin failed), its status...
  std::function<void(const absl::Status&)> committed;
  // ...and, once the group is durable (after its flush, or at once without
  // one), in the order of the groups, whether it is (the commit's error,
  // or the flush's), before the work the tasks deferred with AfterCommit.
  std::function<void(const absl::Status&)> durable;
  // Optional: once the executor's thread has run its last task and stopped,
  // in the destructor, before the executor is gone (what posts to it must
  // stop doing so here).
  std::function<void()> stopped;
  // How many tasks a group covered and how long it took from its commit to
  // durable (metrics).
  std::function<void(size_t tasks, absl::Duration commit)> observe;
};

// Runs tasks one at a time, in order, on its own thread, in groups: every
// task ready when a group starts (up to `max_group`) runs inside one
// transaction, which then commits with one fsync however many writes it
// holds (group commit). What the tasks deferred with AfterCommit runs after
// that commit is durable, in order: on the same thread, or, with a `flush`
// hook, on the thread that flushed it.
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
  // A committed group waiting for its flush.
  struct Unflushed {
    absl::Status committed;
    size_t tasks = 0;  // None: the group was not begun.
    absl::Time commit_started;
    std::vector<std::function<void(const absl::Status&)>> deferred;
  };

  void Loop();
  void RunGroup(const std::deque<std::function<void()>>& tasks);
  // [the thread that set flushing_] Flushes the groups committed and not
  // yet flushed, and tells each one, until none is left.
  void FlushUnflushed() ABSL_LOCKS_EXCLUDED(flush_mu_);
  void FlushLoop();
  void Settle(Unflushed group, const absl::Status& flushed);

  const CommitGroupHooks hooks_;
  const size_t max_group_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The running group's deferred work: loop thread only.
  std::vector<std::function<void(const absl::Status&)>> after_commit_;
  absl::Mutex flush_mu_;
  std::deque<Unflushed> unflushed_ ABSL_GUARDED_BY(flush_mu_);
  bool flushing_ ABSL_GUARDED_BY(flush_mu_) = false;
  // Groups were left to the flusher thread (the executor had more to run).
  bool flusher_asked_ ABSL_GUARDED_BY(flush_mu_) = false;
  bool flush_stopping_ ABSL_GUARDED_BY(flush_mu_) = false;
  std::thread thread_;
  std::thread flusher_;  // With a flush hook only.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_GROUP_COMMIT_EXECUTOR_H_
