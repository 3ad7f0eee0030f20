#ifndef LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_QUEUE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_QUEUE_H_

#include <cstdint>
#include <deque>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// One borrow in flight per risk unit: Binance answers "previous transaction
// pending" to overlapping borrows of a group, and one at a time makes
// reconciliation of an unknown outcome exact. Different groups run in
// parallel. Each group's waiting line is bounded.
class RiskUnitQueue {
 public:
  explicit RiskUnitQueue(size_t max_waiting) : max_waiting_(max_waiting) {}

  // Runs `start` now when the group is idle, else when the borrow ahead of
  // it calls Done. RESOURCE_EXHAUSTED (RISK_UNIT_BUSY) when the line is full.
  absl::Status Enqueue(int64_t group, std::function<void()> start);

  // The group's current borrow finished: starts the next one, if any, on
  // the calling thread.
  void Done(int64_t group);

  size_t waiting(int64_t group) const;

 private:
  struct Line {
    bool busy = false;
    std::deque<std::function<void()>> waiting;
  };
  const size_t max_waiting_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Line> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_QUEUE_H_
