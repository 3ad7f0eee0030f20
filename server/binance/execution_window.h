#ifndef LOAN_GATEWAY_SERVER_BINANCE_EXECUTION_WINDOW_H_
#define LOAN_GATEWAY_SERVER_BINANCE_EXECUTION_WINDOW_H_

#include <cstdint>

namespace loan_gateway::binance {

// When Binance can have executed a signed request. Binance processes it only
// while its server time t satisfies `timestamp < t + 1000` and
// `t - timestamp <= recvWindow` (the documented rule); the record of an
// executed borrow carries that t. The window adds kRecordLagMs after the
// check, for the time between the check and the record's stamp.
struct ExecutionWindow {
  int64_t first_ms = 0;  // Inclusive, Binance time.
  int64_t last_ms = 0;   // Inclusive.

  bool Contains(int64_t t_ms) const {
    return first_ms <= t_ms && t_ms <= last_ms;
  }
  bool Overlaps(const ExecutionWindow& other) const {
    return first_ms <= other.last_ms && other.first_ms <= last_ms;
  }
};

inline constexpr int64_t kTimestampLeadMs = 1000;  // timestamp < t + 1000.
inline constexpr int64_t kRecordLagMs = 1000;

inline ExecutionWindow WindowOf(int64_t signed_ms, int64_t recv_window_ms) {
  return {signed_ms - kTimestampLeadMs + 1,
          signed_ms + recv_window_ms + kRecordLagMs};
}

// The earliest timestamp a later request of the same risk unit may be signed
// with so that its window cannot overlap one that ends at `last_ms`: then a
// record can be in one attempt's window at most.
inline int64_t FirstTimestampAfter(int64_t last_ms) {
  return last_ms + kTimestampLeadMs;
}

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_EXECUTION_WINDOW_H_
