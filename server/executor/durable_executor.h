#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_EXECUTOR_H_

#include <functional>

#include "absl/status/status.h"
#include "executor/executor.h"

namespace loan_gateway {

// The executor of a journal that commits in groups: a task's writes are
// durable only once its group commits, so whatever must follow durability
// (signing after an intent, answering after an outcome) waits for it.
class DurableExecutor : public Executor {
 public:
  // Runs `then` once everything the current task has written is durable,
  // with the commit's status (an error: it may not be). Called outside this
  // executor's tasks, there is nothing to wait for and `then` runs now.
  virtual void AfterCommit(std::function<void(const absl::Status&)> then) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_DURABLE_EXECUTOR_H_
