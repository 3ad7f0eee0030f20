#include "service/resend_policy.h"

namespace loan_gateway {

std::string_view ResendDecisionName(ResendDecision decision) {
  switch (decision) {
    case ResendDecision::kSettle:
      return "settle";
    case ResendDecision::kNextBaseUrl:
      return "next_base_url";
    case ResendDecision::kResyncAndResign:
      return "resync_and_resign";
  }
  return "settle";
}

ResendDecision DecideResend(const AttemptResult& result,
                            const AttemptHistory& history) {
  if (result.delivery == Delivery::kNotSent) {
    return history.base_url_index + 1 < history.base_url_count
               ? ResendDecision::kNextBaseUrl
               : ResendDecision::kSettle;
  }
  if (result.delivery == Delivery::kCompleted &&
      result.outcome == Outcome::kRejected && result.binance_code == -1021 &&
      !history.resigned) {
    return ResendDecision::kResyncAndResign;
  }
  return ResendDecision::kSettle;
}

}  // namespace loan_gateway
