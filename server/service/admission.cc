#include "service/admission.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"

namespace loan_gateway {

Admission::Admission(AdmissionOptions options, const Clock& clock,
                     const BinanceClock& binance_clock, BanBreaker& breaker,
                     WeightBudget& budget, const BorrowingHalt* halt)
    : options_(options),
      clock_(clock),
      binance_clock_(binance_clock),
      breaker_(breaker),
      budget_(budget),
      halt_(halt) {}

absl::Status Admission::CheckHalt() const {
  return halt_ != nullptr ? halt_->Check() : absl::OkStatus();
}

absl::Status Admission::DrainingError() {
  return contract::RuleError(
      contract::RuleForLocal(contract::kDrainingEvent),
      "the gateway is shutting down; this borrow was not sent. Repeat it with "
      "the same request_id (another replica, or this one after its restart)");
}

absl::Status Admission::BeforeJournal(absl::Time deadline) const {
  if (draining_) return DrainingError();
  if (absl::Status halted = CheckHalt(); !halted.ok()) return halted;
  const absl::Duration left = deadline - clock_.Now();
  if (left < options_.min_call_deadline) {
    return contract::RuleError(
        contract::RuleForLocal(contract::kDeadlineTooShortEvent),
        absl::StrCat("the call's deadline leaves ", absl::FormatDuration(left),
                     ", less than the ",
                     absl::FormatDuration(options_.min_call_deadline),
                     " a borrow needs; nothing was sent"));
  }
  return ClockAndBreaker();
}

// Every refusal here is journaled as not sent (retryable).
absl::Status Admission::BeforeSend(
    absl::Time deadline, const std::function<bool()>& caller_gone) const {
  if (draining_) return DrainingError();
  if (absl::Status halted = CheckHalt(); !halted.ok()) return halted;
  const absl::Duration left = deadline - clock_.Now();
  const bool gone = caller_gone && caller_gone();
  if (gone || left < options_.min_call_deadline) {
    return contract::RuleError(
        contract::RuleForLocal(contract::kCallerGoneEvent),
        gone ? "the caller cancelled before the borrow was sent; nothing was "
               "sent"
             : absl::StrCat("the call's deadline left ",
                            absl::FormatDuration(left),
                            " when its turn came; nothing was sent"));
  }
  return ClockAndBreaker();
}

absl::Status Admission::ClockAndBreaker() const {
  if (absl::Status clock = CheckClock(); !clock.ok()) return clock;
  return breaker_.Check();
}

absl::Status Admission::CheckClock() const {
  std::optional<BinanceClock::Offset> offset = binance_clock_.offset();
  const absl::Duration limit =
      std::min(options_.max_clock_uncertainty,
               absl::Milliseconds(options_.recv_window_ms) / 2);
  if (!offset) {
    // Say why it is unknown: "clock skew" would hide an unreachable or
    // misconfigured upstream.
    const absl::Status why = binance_clock_.last_error();
    if (!why.ok()) {
      return contract::RuleError(
          contract::RuleForLocal(contract::kTimeUnreachableEvent),
          absl::StrCat("Binance's server time is unknown: ", why.message(),
                       "; nothing was sent"));
    }
    return contract::RuleError(
        contract::RuleForLocal(contract::kClockUnknownEvent),
        "Binance server time is unknown (GET /api/v3/time has not answered "
        "yet); nothing was sent");
  }
  if (offset->uncertainty > limit) {
    return contract::RuleError(
        contract::RuleForLocal(contract::kClockUnknownEvent),
        absl::StrCat("Binance server time is too uncertain (+/-",
                     absl::FormatDuration(offset->uncertainty), ", limit ",
                     absl::FormatDuration(limit), "); nothing was sent"));
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
