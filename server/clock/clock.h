#ifndef LOAN_GATEWAY_SERVER_CLOCK_CLOCK_H_
#define LOAN_GATEWAY_SERVER_CLOCK_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace loan_gateway {

// The local clock, behind an interface so tests can drive time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_CLOCK_H_
