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
  // `refuse` runs instead of `start` if the borrow is refused while waiting.
  absl::Status Enqueue(int64_t group, std::function<void()> start,
                       std::function<void()> refuse = nullptr);

  // Takes every waiting borrow out of line and runs its `refuse` on the
  // calling thread (a drain: nothing waiting will be sent). The borrows in
  // flight keep their turn until Done.
  void RefuseWaiting();

  // The group's current borrow finished: starts the next one, if any, on
  // the calling thread.
  void Done(int64_t group);

  size_t waiting(int64_t group) const;

 private:
  struct Waiting {
    std::function<void()> start;
    std::function<void()> refuse;
  };
  struct Line {
    bool busy = false;
    std::deque<Waiting> waiting;
  };
  const size_t max_waiting_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int64_t, Line> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_QUEUE_H_
