#ifndef LOAN_GATEWAY_SERVER_BUDGET_WEIGHT_BUDGET_H_
#define LOAN_GATEWAY_SERVER_BUDGET_WEIGHT_BUDGET_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "budget/shared_weight_store.h"
#include "clock/clock.h"

namespace loan_gateway {

// The credit account's SAPI UID weight: Binance allows 180000 per minute and
// a borrow costs 3000, shared by every user of the key. The gateway keeps its
// own count per clock minute, corrects it from X-SAPI-USED-UID-WEIGHT-1M on
// every answer (Binance's count includes other users of the key), and refuses
// locally rather than let Binance rate-limit or ban the shared account.
// Gateways sharing a journal share the count too (a SharedWeightStore in its
// database): each reservation is decided there.
class WeightBudget {
 public:
  static constexpr int64_t kLimitPerMinute = 180000;
  static constexpr int64_t kBorrowWeight = 3000;

  // What is counted: the credit account's UID weight (signed borrows), or
  // this gateway's IP weight (signed reads: 12000 per minute for SAPI).
  enum class Scope { kUid, kIp };
  static constexpr int64_t kIpLimitPerMinute = 12000;

  explicit WeightBudget(const Clock& clock,
                        int64_t limit_per_minute = kLimitPerMinute,
                        int64_t cost = kBorrowWeight, Scope scope = Scope::kUid,
                        SharedWeightStore* shared = nullptr);

  // Reserves one borrow's weight in the current minute, or returns
  // RESOURCE_EXHAUSTED / UPSTREAM_RATE_LIMITED with QuotaFailure and a
  // RetryInfo until the next minute. Nothing is sent when this fails.
  absl::Status TryReserve() { return Reserve(/*take=*/true, cost_); }
  // The same for a request of another weight (reads differ by endpoint).
  absl::Status TryReserve(int64_t weight) {
    return Reserve(/*take=*/true, weight);
  }

  // Whether TryReserve would succeed now, taking nothing (validate_only).
  absl::Status CheckRoom() { return Reserve(/*take=*/false, cost_); }

  // Gives a reservation back: the request provably never left. A shared
  // count gets it back with this gateway's next reservation (no database
  // round trip on the thread that saw the failure, an HTTP one say).
  void Release();

  // Binance's count for the current minute (X-SAPI-USED-UID-WEIGHT-1M).
  void ObserveUsed(int64_t used);

  int64_t used() const;
  int64_t limit() const { return limit_; }

 private:
  absl::Status Reserve(bool take, int64_t weight);
  absl::Status ReserveShared(bool take, int64_t weight);
  absl::Status Spent(int64_t minute, int64_t used, int64_t weight) const;
  void RollWindow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const int64_t limit_;
  const int64_t cost_;
  const Scope scope_;
  SharedWeightStore* const shared_;
  mutable absl::Mutex mu_;
  int64_t minute_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  // Given back and not yet subtracted from the shared count.
  int64_t owed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_BUDGET_WEIGHT_BUDGET_H_
