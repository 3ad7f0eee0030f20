#ifndef LOAN_GATEWAY_SERVER_THREADS_WATCH_THREAD_H_
#define LOAN_GATEWAY_SERVER_THREADS_WATCH_THREAD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace loan_gateway {

// One thread for many periodic checks (files changed? the listener deaf?
// Binance's time?), run one after another, rather than a sleeping thread for
// each. A check returns how long to wait before its next run, so each keeps
// its own rhythm (a quick retry after a failure, the interval after success);
// one returning absl::InfiniteDuration() is done for good.
// Checks may block briefly; one that waits on the network delays the others
// on the same thread by as much, so the gateway keeps its local checks and
// its upstream reads on two of these.
class WatchThread {
 public:
  using Check = std::function<absl::Duration()>;

  explicit WatchThread(const char* thread_name);
  // Every PeriodicCheck on it must be gone first; tasks of RunAfter not due
  // yet are dropped.
  ~WatchThread();
  WatchThread(const WatchThread&) = delete;
  WatchThread& operator=(const WatchThread&) = delete;

  // Runs `task` once, after `delay`.
  void RunAfter(absl::Duration delay, std::function<void()> task);

 private:
  friend class PeriodicCheck;
  uint64_t Add(Check check, absl::Duration first_delay);
  void Remove(uint64_t id);  // Waits for a run of it in progress.
  void Loop();

  absl::Mutex mu_;
  std::map<uint64_t, Check> checks_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, uint64_t> due_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t running_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none.
  uint64_t changes_ ABSL_GUARDED_BY(mu_) = 0;  // Wakes the loop.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A check registered on a WatchThread for as long as this object lives: its
// destructor removes it, waiting for a run in progress to return, so that the
// check never runs on a component that is gone.
class PeriodicCheck {
 public:
  // `check` first runs after `first_delay`, then after what it returns.
  PeriodicCheck(WatchThread& thread, WatchThread::Check check,
                absl::Duration first_delay = absl::ZeroDuration());
  ~PeriodicCheck();
  PeriodicCheck(const PeriodicCheck&) = delete;
  PeriodicCheck& operator=(const PeriodicCheck&) = delete;

 private:
  WatchThread& thread_;
  const uint64_t id_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_THREADS_WATCH_THREAD_H_
