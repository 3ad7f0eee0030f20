#ifndef LOAN_GATEWAY_SERVER_RECONCILE_UPSTREAM_PROBE_H_
#define LOAN_GATEWAY_SERVER_RECONCILE_UPSTREAM_PROBE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

// Whether Binance answers and accepts the key, known before the first borrow
// rather than learnt from it: a signed, cheap read (one row of the borrow
// records, weight 10 per IP) at start and every `interval`, retried after a
// second while it fails. Health is NOT_SERVING until it succeeds, with the
// real cause (unreachable, a 404 from a base URL with a path, the key
// refused: -2014/-2015/-1022) in the log and in loan_gateway_upstream_ready.
class UpstreamProbe {
 public:
  // `read` performs the signed read (on `watch`); OK when Binance answered
  // 200.
  UpstreamProbe(WatchThread& watch, std::function<absl::Status()> read,
                absl::Duration interval);

  // The last probe's result (UNAVAILABLE "not probed yet" before the first).
  absl::Status status() const;

  // Waits up to `timeout` for the first probe to finish (start-up reports
  // health from a real answer, not from "not probed yet").
  void AwaitFirst(absl::Duration timeout) const;

 private:
  // One read; the wait until the next.
  absl::Duration ProbeOnce(absl::Duration interval);

  const std::function<absl::Status()> read_;
  mutable absl::Mutex mu_;
  absl::Status last_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("Binance not probed yet");
  bool probed_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_logged_;  // The watch thread's only.
  PeriodicCheck check_;      // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RECONCILE_UPSTREAM_PROBE_H_
