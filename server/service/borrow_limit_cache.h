#ifndef LOAN_GATEWAY_SERVER_SERVICE_BORROW_LIMIT_CACHE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_BORROW_LIMIT_CACHE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace loan_gateway {

// What Binance last said a risk unit may still borrow of an asset, and when:
// from a max-borrowable read, or from a -27009's "Maximum borrowable ... is
// N". The borrow pre-flight refuses only on a figure fresh enough; a stale or
// missing one lets the borrow go to Binance, which decides.
class BorrowLimitCache {
 public:
  struct Limit {
    std::string max_amount;  // Exact decimal text, as Binance sent it.
    absl::Time read_at;
  };

  void Put(int64_t group_id, const std::string& asset, std::string max_amount,
           absl::Time read_at);
  // The figure if it was read within `max_age` of `now`.
  std::optional<Limit> Fresh(int64_t group_id, const std::string& asset,
                             absl::Time now, absl::Duration max_age) const;
  // Forgets a risk unit's figures (its limit grew: a repay).
  void Forget(int64_t group_id);

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<int64_t, std::string>, Limit> limits_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_BORROW_LIMIT_CACHE_H_
