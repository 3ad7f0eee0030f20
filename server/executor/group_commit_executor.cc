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
      }) {}

GroupCommitExecutor::~GroupCommitExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
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
  if (grouped) {
    const absl::Time started = absl::Now();
    committed = hooks_.commit();
    if (hooks_.observe) hooks_.observe(count, absl::Now() - started);
  }
  if (hooks_.committed) hooks_.committed(committed);
  std::vector<std::function<void(const absl::Status&)>> deferred;
  deferred.swap(after_commit_);
  for (auto& then : deferred) then(committed);
}

}  // namespace loan_gateway
