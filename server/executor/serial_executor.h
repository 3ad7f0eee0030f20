#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_SERIAL_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_SERIAL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "executor/executor.h"

namespace loan_gateway {

// Runs tasks one at a time, in order, on its own thread. The gateway gives
// its journal one: durable writes (an fsync each) are serialised there, and
// neither gRPC threads nor the HTTP loop wait for the disk.
class SerialExecutor : public Executor {
 public:
  SerialExecutor();
  ~SerialExecutor();  // Runs every task already posted, then stops.

  void Post(std::function<void()> task) override;

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_SERIAL_EXECUTOR_H_
