#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_AWAIT_CALLBACK_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_AWAIT_CALLBACK_H_

#include <functional>
#include <optional>
#include <utility>

#include "absl/synchronization/notification.h"

namespace loan_gateway {

// Runs `start`, which begins an asynchronous operation and hands its result
// to the callback it is given (once, on any thread), and blocks until then.
// Only for threads that may block (start-up, the reconciler's and the
// prober's own threads): never on an executor or the transport's thread.
template <typename Result>
Result AwaitCallback(
    const std::function<void(std::function<void(Result)>)>& start) {
  absl::Notification done;
  std::optional<Result> result;
  start([&](Result r) {
    result.emplace(std::move(r));
    done.Notify();
  });
  done.WaitForNotification();
  return *std::move(result);
}

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_AWAIT_CALLBACK_H_
