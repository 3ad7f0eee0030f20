#ifndef LOAN_GATEWAY_SERVER_JOURNAL_SERIAL_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_SERIAL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// Runs tasks one at a time, in order, on its own thread. Durable journal
// writes (an fsync each) run here so that neither gRPC threads nor the HTTP
// loop wait for the disk.
class SerialExecutor {
 public:
  SerialExecutor();
  ~SerialExecutor();  // Runs every task already posted, then stops.

  void Post(std::function<void()> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_SERIAL_EXECUTOR_H_
