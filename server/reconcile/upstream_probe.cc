#include "reconcile/upstream_probe.h"

#include "log/json_log.h"

namespace loan_gateway {

UpstreamProbe::UpstreamProbe(WatchThread& watch,
                             std::function<absl::Status()> read,
                             absl::Duration interval)
    : read_(std::move(read)),
      check_(watch, [this, interval] { return ProbeOnce(interval); }) {}

absl::Status UpstreamProbe::status() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

void UpstreamProbe::AwaitFirst(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&probed_), timeout);
}

absl::Duration UpstreamProbe::ProbeOnce(absl::Duration interval) {
  absl::Status result = read_();
  // A line per change, not per retry.
  if (result.ToString() != last_logged_) {
    last_logged_ = result.ToString();
    LogLine(result.ok() ? "info" : "warn",
            result.ok() ? "upstream_ready" : "upstream_not_ready")
        .Str("error", last_logged_)
        .Emit();
  }
  const absl::Duration next = result.ok() ? interval : absl::Milliseconds(250);
  absl::MutexLock lock(&mu_);
  last_ = std::move(result);
  probed_ = true;
  return next;
}

}  // namespace loan_gateway
