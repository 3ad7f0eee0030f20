#include "executor/group_commit_executor.h"

#include <utility>

#include "threads/thread_name.h"

namespace loan_gateway {
namespace {

// The group running on this thread, if any: AfterCommit defers only from
// inside one of its tasks.
thread_local const GroupCommitExecutor* running_group = nullptr;

}  // namespace

GroupCommitExecutor::GroupCommitExecutor(CommitGroupHooks hooks,
                                         size_t max_group)
    : hooks_(std::move(hooks)), max_group_(max_group), thread_([this] {
        NameThisThread("lg-journal");
        Loop();
      }) {
  if (hooks_.flush) {
    flusher_ = std::thread([this] {
      NameThisThread("lg-flush");
      FlushLoop();
    });
  }
}

GroupCommitExecutor::~GroupCommitExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  if (flusher_.joinable()) {
    {
      absl::MutexLock lock(&flush_mu_);
      flush_stopping_ = true;
    }
    flusher_.join();  // Once every committed group is flushed.
  }
  if (hooks_.stopped) hooks_.stopped();
}

void GroupCommitExecutor::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void GroupCommitExecutor::AfterCommit(
    std::function<void(const absl::Status&)> then) {
  if (running_group != this) {
    then(absl::OkStatus());
    return;
  }
  after_commit_.push_back(std::move(then));
}

bool GroupCommitExecutor::InGroup() const { return running_group == this; }

void GroupCommitExecutor::Loop() {
  while (true) {
    std::deque<std::function<void()>> group;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
               self->mu_) { return self->stopping_ || !self->tasks_.empty(); },
          this));
      if (tasks_.empty()) return;  // Stopping, and nothing left to run.
      while (!tasks_.empty() && group.size() < max_group_) {
        group.push_back(std::move(tasks_.front()));
        tasks_.pop_front();
      }
    }
    RunGroup(group);
  }
}

void GroupCommitExecutor::RunGroup(
    const std::deque<std::function<void()>>& tasks) {
  const size_t count = tasks.size();
  const bool grouped = hooks_.begin().ok();
  running_group = this;
  for (const std::function<void()>& task : tasks) task();
  running_group = nullptr;
  if (hooks_.finish_writes) hooks_.finish_writes();
  absl::Status committed = absl::OkStatus();
  const absl::Time started = absl::Now();
  if (grouped) committed = hooks_.commit();
  if (hooks_.committed) hooks_.committed(committed);
  Unflushed group{.committed = committed,
                  .tasks = grouped ? count : 0,
                  .commit_started = started};
  group.deferred.swap(after_commit_);
  if (!hooks_.flush) {
    Settle(std::move(group), committed);
    return;
  }
  bool idle = false;
  {
    absl::MutexLock lock(&mu_);
    idle = tasks_.empty();
  }
  bool flush_here = false;
  {
    absl::MutexLock lock(&flush_mu_);
    unflushed_.push_back(std::move(group));
    // With nothing to run meanwhile, a hand-off would only add a wake-up.
    flush_here = idle && !flushing_;
    if (flush_here) {
      flushing_ = true;
    } else {
      flusher_asked_ = true;
    }
  }
  if (flush_here) FlushUnflushed();
}

void GroupCommitExecutor::FlushUnflushed() {
  while (true) {
    std::deque<Unflushed> groups;
    {
      absl::MutexLock lock(&flush_mu_);
      if (unflushed_.empty()) {
        flushing_ = false;
        return;
      }
      groups.swap(unflushed_);
    }
    bool any_committed = false;
    for (const Unflushed& group : groups) {
      any_committed = any_committed || group.committed.ok();
    }
    // Every one of these committed before the flush began: it covers them.
    const absl::Status flushed =
        any_committed ? hooks_.flush() : absl::OkStatus();
    for (Unflushed& group : groups) Settle(std::move(group), flushed);
  }
}

void GroupCommitExecutor::FlushLoop() {
  while (true) {
    {
      absl::MutexLock lock(&flush_mu_);
      flush_mu_.Await(absl::Condition(
          +[](GroupCommitExecutor* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->flush_mu_) {
                 return !self->flushing_ &&
                        (self->flusher_asked_ || self->flush_stopping_);
               },
          this));
      flusher_asked_ = false;
      if (unflushed_.empty()) {
        if (flush_stopping_) return;
        continue;
      }
      flushing_ = true;
    }
    FlushUnflushed();
  }
}

void GroupCommitExecutor::Settle(Unflushed group, const absl::Status& flushed) {
  const absl::Status durable = group.committed.ok() ? flushed : group.committed;
  // From the commit to durable: what a borrow waits for.
  if (hooks_.observe && group.tasks > 0) {
    hooks_.observe(group.tasks, absl::Now() - group.commit_started);
  }
  if (hooks_.durable) hooks_.durable(durable);
  for (auto& then : group.deferred) then(durable);
}

}  // namespace loan_gateway
