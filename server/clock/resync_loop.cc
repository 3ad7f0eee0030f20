#include "clock/resync_loop.h"

#include <algorithm>

#include "threads/thread_name.h"

namespace loan_gateway {

ResyncLoop::ResyncLoop(std::function<absl::Status()> sync, ResyncPolicy policy)
    : thread_([this, sync = std::move(sync), policy] {
        NameThisThread("lg-clock-sync");
        Run(sync, policy);
      }) {}

ResyncLoop::~ResyncLoop() {
  stop_.Notify();
  thread_.join();
}

absl::Duration ResyncLoop::NextWait(const ResyncPolicy& policy,
                                    int failures_in_a_row) {
  if (failures_in_a_row == 0) return policy.interval;
  absl::Duration wait = policy.first_retry;
  for (int i = 1; i < failures_in_a_row && wait < policy.max_retry; ++i) {
    wait *= 2;
  }
  return std::min(wait, policy.max_retry);
}

void ResyncLoop::Run(const std::function<absl::Status()>& sync,
                     ResyncPolicy policy) {
  int failures = 0;
  do {
    failures = sync().ok() ? 0 : failures + 1;
  } while (!stop_.WaitForNotificationWithTimeout(NextWait(policy, failures)));
}

}  // namespace loan_gateway
