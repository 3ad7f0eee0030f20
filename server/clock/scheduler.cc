#include "clock/scheduler.h"

#include "threads/thread_name.h"

namespace loan_gateway {

TimerThread::TimerThread()
    : thread_([this] {
        NameThisThread("lg-timer");
        Loop();
      }) {}

TimerThread::~TimerThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void TimerThread::RunAfter(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.emplace(absl::Now() + delay, std::move(task));
  ++added_;
}

void TimerThread::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const uint64_t seen = added_;
    auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || added_ != seen;
    };
    if (tasks_.empty()) {
      mu_.Await(absl::Condition(&woken));
      continue;
    }
    const absl::Time due = tasks_.begin()->first;
    if (absl::Now() < due) {
      // Wakes early when a task arrives (it may be due sooner).
      mu_.AwaitWithDeadline(absl::Condition(&woken), due);
      continue;
    }
    std::function<void()> task = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    mu_.Unlock();
    task();
    mu_.Lock();
  }
}

}  // namespace loan_gateway
