#ifndef LOAN_GATEWAY_SERVER_BREAKER_BAN_BREAKER_H_
#define LOAN_GATEWAY_SERVER_BREAKER_BAN_BREAKER_H_

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "clock/clock.h"
#include "contract/error_table.h"

namespace loan_gateway {

// After Binance answers 429 (rate limit), 418 (IP ban) or 403 (WAF), every
// borrow is held locally until Retry-After (or the documented default) has
// passed: sending more would lengthen the ban of a shared credit account.
class BanBreaker {
 public:
  explicit BanBreaker(const Clock& clock) : clock_(clock) {}

  // OK while closed. While open: the error that opened it (same code and
  // reason), with a RetryInfo for the time left; nothing may be sent.
  absl::Status Check() const;

  // Opens the breaker for `hold` with `cause`, the error the contract's row
  // `cause_rule` gave Binance's answer (it must outlive the breaker: rows
  // are static).
  void Trip(const contract::ErrorRule& cause_rule, const absl::Status& cause,
            absl::Duration hold);

  bool open() const;

 private:
  const Clock& clock_;
  mutable absl::Mutex mu_;
  const contract::ErrorRule* cause_rule_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status cause_ ABSL_GUARDED_BY(mu_);
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_BREAKER_BAN_BREAKER_H_
