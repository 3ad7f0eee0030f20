#include "reconcile/upstream_probe.h"

#include "log/json_log.h"
#include "threads/thread_name.h"

namespace loan_gateway {

UpstreamProbe::UpstreamProbe(std::function<absl::Status()> read,
                             absl::Duration interval)
    : read_(std::move(read)), thread_([this, interval] {
        NameThisThread("lg-probe");
        Loop(interval);
      }) {}

UpstreamProbe::~UpstreamProbe() {
  stop_.Notify();
  thread_.join();
}

absl::Status UpstreamProbe::status() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

void UpstreamProbe::AwaitFirst(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&probed_), timeout);
}

void UpstreamProbe::Loop(absl::Duration interval) {
  bool was_ok = false;
  std::string last_logged;
  do {
    absl::Status result = read_();
    // A line per change, not per retry.
    if (result.ToString() != last_logged) {
      last_logged = result.ToString();
      LogLine(result.ok() ? "info" : "warn",
              result.ok() ? "upstream_ready" : "upstream_not_ready")
          .Str("error", last_logged)
          .Emit();
    }
    was_ok = result.ok();
    absl::MutexLock lock(&mu_);
    last_ = std::move(result);
    probed_ = true;
  } while (!stop_.WaitForNotificationWithTimeout(
      was_ok ? interval : absl::Milliseconds(250)));
}

}  // namespace loan_gateway
