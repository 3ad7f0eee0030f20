#ifndef LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_
#define LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

// What grpc.health.v1 says: SERVING only while every condition holds (the
// journal is the one opened, Binance's time is known well enough to sign),
// so that a readiness probe routes no traffic to a gateway that can only
// refuse. Each change of a condition is logged (readiness_changed).
class ReadinessWatch {
 public:
  struct Condition {
    std::string name;
    std::function<absl::Status()> check;
  };

  // Checks now, then every `every` on `watch`.
  ReadinessWatch(WatchThread& watch, std::vector<Condition> conditions,
                 std::function<void(bool serving)> set_serving,
                 absl::Duration every);

  // From now on health is the drain's: set_serving is never called again,
  // and the periodic checks stop asking the conditions.
  void Stop();

  // Checks every condition now; returns whether all hold. Thread-safe.
  bool CheckNow();

 private:
  bool stopped() const;

  const std::vector<Condition> conditions_;
  const std::function<void(bool)> set_serving_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> held_ ABSL_GUARDED_BY(mu_);
  int serving_ ABSL_GUARDED_BY(mu_) = -1;  // -1: not reported yet.
  PeriodicCheck check_;                    // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_
