#include "clock/resync_loop.h"

#include <algorithm>

namespace loan_gateway {

ResyncLoop::ResyncLoop(WatchThread& watch, std::function<absl::Status()> sync,
                       ResyncPolicy policy)
    : sync_(std::move(sync)),
      policy_(policy),
      check_(
          watch, [this] { return SyncOnce(); }, policy.first) {}

absl::Duration ResyncLoop::NextWait(const ResyncPolicy& policy,
                                    int failures_in_a_row) {
  if (failures_in_a_row == 0) return policy.interval;
  absl::Duration wait = policy.first_retry;
  for (int i = 1; i < failures_in_a_row && wait < policy.max_retry; ++i) {
    wait *= 2;
  }
  return std::min(wait, policy.max_retry);
}

absl::Duration ResyncLoop::SyncOnce() {
  failures_in_a_row_ = sync_().ok() ? 0 : failures_in_a_row_ + 1;
  return NextWait(policy_, failures_in_a_row_);
}

}  // namespace loan_gateway
