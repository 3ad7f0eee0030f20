#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_JOIN_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_JOIN_H_

#include <functional>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// Runs `then` once `count` writes have reported (on the thread of the last),
// with the first error among them, OK when every one succeeded: a journal
// commit and an audit record that must both be durable before a step go to
// their disks side by side, not one after the other.
class DurableJoin {
 public:
  static std::shared_ptr<DurableJoin> Of(
      int count, std::function<void(absl::Status)> then) {
    return std::shared_ptr<DurableJoin>(
        new DurableJoin(count, std::move(then)));
  }

  void Done(absl::Status status) {
    std::function<void(absl::Status)> then;
    absl::Status result;
    {
      absl::MutexLock lock(&mu_);
      if (error_.ok()) error_ = std::move(status);
      if (--left_ > 0) return;
      then = std::move(then_);
      result = error_;
    }
    then(std::move(result));
  }

 private:
  DurableJoin(int count, std::function<void(absl::Status)> then)
      : left_(count), then_(std::move(then)) {}

  absl::Mutex mu_;
  int left_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::function<void(absl::Status)> then_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_JOIN_H_
