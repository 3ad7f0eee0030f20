#ifndef LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_
#define LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_

#include <functional>

#include "absl/time/time.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

// Runs a task later, behind an interface so tests can fire it themselves.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `task` once after `delay`, on the scheduler's thread; the task must
  // not block (post real work elsewhere).
  virtual void RunAfter(absl::Duration delay, std::function<void()> task) = 0;
};

// One thread for every delayed task of the process (the pipeline's window
// waits and polls): a WatchThread of its own, so that no periodic check
// delays them.
class TimerThread : public Scheduler {
 public:
  ~TimerThread() override = default;  // Tasks not due yet are dropped.

  void RunAfter(absl::Duration delay, std::function<void()> task) override {
    thread_.RunAfter(delay, std::move(task));
  }

 private:
  WatchThread thread_{"lg-timer"};
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_
