#include "service/borrow_call.h"

#include "absl/strings/str_cat.h"
#include "binance/money_operation.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::string_view BorrowStageName(BorrowStage stage) {
  switch (stage) {
    case BorrowStage::kReceived:
      return "RECEIVED";
    case BorrowStage::kAdmitted:
      return "ADMITTED";
    case BorrowStage::kFollowing:
      return "FOLLOWING";
    case BorrowStage::kQueued:
      return "QUEUED";
    case BorrowStage::kPreparing:
      return "PREPARING";
    case BorrowStage::kWaitingWindow:
      return "WAITING_WINDOW";
    case BorrowStage::kSending:
      return "SENDING";
    case BorrowStage::kSettling:
      return "SETTLING";
    case BorrowStage::kAnswered:
      return "ANSWERED";
  }
  return "?";
}

bool IsLegalTransition(BorrowStage from, BorrowStage to) {
  using S = BorrowStage;
  switch (from) {
    case S::kReceived:
      return to == S::kAdmitted || to == S::kAnswered;
    case S::kAdmitted:
      return to == S::kQueued || to == S::kFollowing || to == S::kAnswered;
    case S::kFollowing:
      return to == S::kAnswered;
    case S::kQueued:
      return to == S::kPreparing || to == S::kSettling;
    case S::kPreparing:
      return to == S::kWaitingWindow || to == S::kSending || to == S::kSettling;
    case S::kWaitingWindow:  // Its window passed, or a drain refused it.
    case S::kSending:        // Sent again as DecideResend allows, or settled.
      return to == S::kPreparing || to == S::kSettling;
    case S::kSettling:
      return to == S::kAnswered;
    case S::kAnswered:
      return false;
  }
  return false;
}

bool BorrowCall::Advance(BorrowStage next) {
  if (!IsLegalTransition(stage_, next)) return false;
  stage_ = next;
  return true;
}

void EmitBorrowLogLine(
    const BorrowCall& call,
    const absl::StatusOr<institutional_loan::v1::BorrowResponse>& result,
    absl::string_view reason, absl::Duration total) {
  LogLine line("info", binance::MoneyOperationOf(call.kind).log_event);
  line.Str("request_id", call.request_id).Str("caller", call.caller);
  if (call.borrow) {
    line.Int("group_id", call.borrow->group_id)
        .Str("asset", call.borrow->asset_name)
        .Str("amount", call.borrow->amount.text());
  }
  line.Str("outcome", OutcomeName(call.outcome))
      .Str("reason", reason)
      .Str("grpc_code", absl::StatusCodeToString(result.status().code()))
      .Int("attempts", call.attempts);
  if (call.replayed) line.Str("replayed", "true");
  if (call.validate_only) line.Str("validate_only", "true");
  if (result.ok()) line.Str("transaction_id", result->transaction_id());
  if (call.binance_code) line.Int("binance_code", *call.binance_code);
  if (call.http_status != 0) line.Int("http_status", call.http_status);
  if (!call.transport_error.empty()) {
    line.Str("transport_error", call.transport_error);
  }
  line.Ms("upstream_ms", call.upstream_latency).Ms("total_ms", total).Emit();
}

}  // namespace loan_gateway
