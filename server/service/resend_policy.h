#ifndef LOAN_GATEWAY_SERVER_SERVICE_RESEND_POLICY_H_
#define LOAN_GATEWAY_SERVER_SERVICE_RESEND_POLICY_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "contract/error_table.h"
#include "http/http_transport.h"

namespace loan_gateway {

// What one attempt came to, as far as resending is concerned.
struct AttemptResult {
  Delivery delivery = Delivery::kMaybeSent;
  Outcome outcome = Outcome::kUnknown;
  std::optional<int64_t> binance_code;
};

// Where the call stands among its attempts.
struct AttemptHistory {
  size_t base_url_index = 0;  // The base URL this attempt went to.
  size_t base_url_count = 1;
  bool resigned = false;  // Already re-signed once after -1021.
};

enum class ResendDecision {
  kSettle,          // The attempt's outcome is the call's.
  kNextBaseUrl,     // Nothing left this process: try the next base URL.
  kResyncAndResign  // Binance refused the timestamp, executing nothing:
                    // resync the clock, then sign and send once more.
};

std::string_view ResendDecisionName(ResendDecision decision);

// The gateway's one rule on sending a borrow again: never resend what may
// have reached Binance. Only two attempts are provably without effect: one
// that never left this process (connect, DNS or TLS failed), and one Binance
// answered -1021 (timestamp outside recvWindow), which it rejects before
// executing. Each is tried again at most once per reason; everything else,
// unknown outcomes above all, settles. Pure: the table test drives it.
ResendDecision DecideResend(const AttemptResult& result,
                            const AttemptHistory& history);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_RESEND_POLICY_H_
