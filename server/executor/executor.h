#ifndef LOAN_GATEWAY_SERVER_EXECUTOR_EXECUTOR_H_
#define LOAN_GATEWAY_SERVER_EXECUTOR_EXECUTOR_H_

#include <functional>

namespace loan_gateway {

// Where a stage of the money path runs. Each stage names its executor (see
// service/LIFE_OF_A_BORROW.md), so which thread does what is a decision made
// once in the composition root, and tests can run every stage inline.
class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` later, never on the calling stack.
  virtual void Post(std::function<void()> task) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_EXECUTOR_EXECUTOR_H_
