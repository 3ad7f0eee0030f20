#ifndef LOAN_GATEWAY_SERVER_SERVICE_ADMISSION_H_
#define LOAN_GATEWAY_SERVER_SERVICE_ADMISSION_H_

#include <atomic>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "breaker/ban_breaker.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "clock/clock.h"
#include "halt/borrowing_halt.h"

namespace loan_gateway {

struct AdmissionOptions {
  int64_t recv_window_ms = 5000;
  absl::Duration max_clock_uncertainty = absl::Seconds(1);
  // --min_call_deadline: a call with less time left than this is refused
  // before anything is sent.
  absl::Duration min_call_deadline = absl::Milliseconds(200);
};

// Every check a borrow passes before it is signed, in one place: whether the
// gateway is draining or halted, the caller's deadline (and presence),
// Binance's clock,
// the ban breaker, and the UID weight budget. A refusal here means nothing
// was sent; each carries its row of the error contract.
class Admission {
 public:
  Admission(AdmissionOptions options, const Clock& clock,
            const BinanceClock& binance_clock, BanBreaker& breaker,
            WeightBudget& budget, const BorrowingHalt* halt = nullptr);

  // Before anything is journaled: draining, halted, deadline, clock,
  // breaker.
  absl::Status BeforeJournal(absl::Time deadline) const;

  // The last word before signing: the call's turn may have come long after
  // it was admitted. `caller_gone` (optional) says whether it cancelled.
  absl::Status BeforeSend(absl::Time deadline,
                          const std::function<bool()>& caller_gone) const;

  // OK when Binance's time is known well enough to sign (else CLOCK_SKEW,
  // or UPSTREAM_UNREACHABLE with the real cause when it cannot be read).
  absl::Status CheckClock() const;

  // Takes one borrow's weight from the credit account's UID budget; every
  // reservation whose request is not sent is released.
  absl::Status ReserveWeight() { return budget_.TryReserve(); }
  void ReleaseWeight() { budget_.Release(); }
  // Whether ReserveWeight would succeed now (validate_only takes nothing).
  absl::Status CheckWeight() { return budget_.CheckRoom(); }

  // From now on every check refuses with GATEWAY_DRAINING.
  void BeginDrain() { draining_ = true; }
  bool draining() const { return draining_; }

  // The refusal of a borrow not sent because the gateway is stopping.
  static absl::Status DrainingError();

 private:
  absl::Status ClockAndBreaker() const;
  absl::Status CheckHalt() const;

  const AdmissionOptions options_;
  const Clock& clock_;
  const BinanceClock& binance_clock_;
  BanBreaker& breaker_;
  WeightBudget& budget_;
  const BorrowingHalt* const halt_;  // Null: no kill switch (unit tests).
  std::atomic<bool> draining_{false};
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_ADMISSION_H_
