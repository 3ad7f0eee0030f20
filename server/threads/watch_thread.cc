#include "threads/watch_thread.h"

#include "threads/thread_name.h"

namespace loan_gateway {

WatchThread::WatchThread(const char* thread_name)
    : thread_([this, thread_name] {
        NameThisThread(thread_name);
        Loop();
      }) {}

WatchThread::~WatchThread() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    ++changes_;
  }
  thread_.join();
}

uint64_t WatchThread::Add(Check check, absl::Duration first_delay) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  checks_.emplace(id, std::move(check));
  due_.emplace(absl::Now() + first_delay, id);
  ++changes_;
  return id;
}

void WatchThread::RunAfter(absl::Duration delay, std::function<void()> task) {
  Add(
      [task = std::move(task)] {
        task();
        return absl::InfiniteDuration();
      },
      delay);
}

void WatchThread::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  checks_.erase(id);  // Its entry in due_ is skipped when it comes up.
  // A check that removes itself (its component destroyed from within it)
  // must not wait for its own return.
  if (std::this_thread::get_id() == thread_.get_id()) return;
  auto finished = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_ != id;
  };
  mu_.Await(absl::Condition(&finished));
}

void WatchThread::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const uint64_t seen = changes_;
    auto woken = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return changes_ != seen;
    };
    if (due_.empty()) {
      mu_.Await(absl::Condition(&woken));
      continue;
    }
    const absl::Time when = due_.begin()->first;
    if (absl::Now() < when) {
      mu_.AwaitWithDeadline(absl::Condition(&woken), when);
      continue;
    }
    const uint64_t id = due_.begin()->second;
    due_.erase(due_.begin());
    auto found = checks_.find(id);
    if (found == checks_.end()) continue;  // Removed.
    Check check = found->second;
    running_ = id;
    mu_.Unlock();
    const absl::Duration wait = check();
    mu_.Lock();
    running_ = 0;
    if (wait == absl::InfiniteDuration()) {
      checks_.erase(id);
    } else if (checks_.count(id) > 0) {
      due_.emplace(absl::Now() + wait, id);
    }
  }
}

PeriodicCheck::PeriodicCheck(WatchThread& thread, WatchThread::Check check,
                             absl::Duration first_delay)
    : thread_(thread), id_(thread.Add(std::move(check), first_delay)) {}

PeriodicCheck::~PeriodicCheck() { thread_.Remove(id_); }

}  // namespace loan_gateway
