#ifndef LOAN_GATEWAY_SERVER_CLOCK_RESYNC_LOOP_H_
#define LOAN_GATEWAY_SERVER_CLOCK_RESYNC_LOOP_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

struct ResyncPolicy {
  absl::Duration interval = absl::Seconds(30);  // After a good sync.
  // After a failed one: first retry, doubling up to the cap. Short, so that
  // borrows work about a second after Binance first answers (a pod whose
  // egress is not ready at start must not refuse for a whole interval).
  absl::Duration first_retry = absl::Milliseconds(200);
  absl::Duration max_retry = absl::Seconds(1);
  // Until the first sync: the interval when the caller has just synced.
  absl::Duration first = absl::ZeroDuration();
};

// Keeps the Binance server-time offset fresh on `watch`: `sync` after
// `first`, then every `interval`, retrying failures quickly. Stopped on
// destruction (a sync in progress finishes first).
class ResyncLoop {
 public:
  ResyncLoop(WatchThread& watch, std::function<absl::Status()> sync,
             ResyncPolicy policy);

  // The wait after a sync: the interval after success, the backoff after
  // `failures_in_a_row` failures.
  static absl::Duration NextWait(const ResyncPolicy& policy,
                                 int failures_in_a_row);

 private:
  absl::Duration SyncOnce();

  const std::function<absl::Status()> sync_;
  const ResyncPolicy policy_;
  int failures_in_a_row_ = 0;  // The watch thread's only.
  PeriodicCheck check_;        // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_RESYNC_LOOP_H_
