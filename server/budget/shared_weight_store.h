#ifndef LOAN_GATEWAY_SERVER_BUDGET_SHARED_WEIGHT_STORE_H_
#define LOAN_GATEWAY_SERVER_BUDGET_SHARED_WEIGHT_STORE_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace loan_gateway {

// Where every gateway of a shared journal counts the credit account's UID
// weight per minute (its database), so that a reservation one gateway made
// counts against all of them: Binance's limit is the account's, not a
// replica's. Thread-safe.
class SharedWeightStore {
 public:
  virtual ~SharedWeightStore() = default;

  struct Count {
    int64_t used = 0;    // The minute's count after the call.
    bool taken = false;  // Whether `weight` was added.
  };
  // Adds `weight` to `minute`'s count (first raised to `observed`, the
  // count Binance last reported to this gateway) unless that would pass
  // `limit`. A `weight` of 0 reads the count; a negative one gives weight
  // back (never below 0).
  virtual absl::StatusOr<Count> Add(int64_t minute, int64_t weight,
                                    int64_t observed, int64_t limit) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_BUDGET_SHARED_WEIGHT_STORE_H_
