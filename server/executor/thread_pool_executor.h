#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_THREAD_POOL_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_THREAD_POOL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "executor/executor.h"

namespace loan_gateway {

// Runs tasks on a fixed set of threads, in no particular order. The gateway
// signs requests and answers calls here, so that neither an RSA signature nor
// a slow client holds up the journal's thread or the HTTP loop.
class ThreadPoolExecutor : public Executor {
 public:
  // `name`: its threads' name (at most 15 characters).
  explicit ThreadPoolExecutor(int threads, const char* name = "lg-pool");
  ~ThreadPoolExecutor()
      override;  // Runs every task already posted, then stops.

  void Post(std::function<void()> task) override;

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_THREAD_POOL_EXECUTOR_H_
