#ifndef LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_
#define LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

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

  ReadinessWatch(std::vector<Condition> conditions,
                 std::function<void(bool serving)> set_serving,
                 absl::Duration every);
  ~ReadinessWatch();

  // From now on health is the drain's: set_serving is never called again.
  void Stop();

  // Checks every condition now; returns whether all hold. Thread-safe.
  bool CheckNow();

 private:
  void Loop(absl::Duration every);

  const std::vector<Condition> conditions_;
  const std::function<void(bool)> set_serving_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<bool> held_ ABSL_GUARDED_BY(mu_);
  int serving_ ABSL_GUARDED_BY(mu_) = -1;  // -1: not reported yet.
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_READINESS_WATCH_H_
