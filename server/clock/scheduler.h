#ifndef LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_
#define LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace loan_gateway {

// Runs a task later, behind an interface so tests can fire it themselves.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Runs `task` once after `delay`, on the scheduler's thread; the task must
  // not block (post real work elsewhere).
  virtual void RunAfter(absl::Duration delay, std::function<void()> task) = 0;
};

// One thread for every delayed task of the process.
class TimerThread : public Scheduler {
 public:
  TimerThread();
  ~TimerThread() override;  // Tasks not due yet are dropped.

  void RunAfter(absl::Duration delay, std::function<void()> task) override;

 private:
  void Loop();

  absl::Mutex mu_;
  std::multimap<absl::Time, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t added_ ABSL_GUARDED_BY(mu_) = 0;  // Wakes the loop for a new task.
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_SCHEDULER_H_
