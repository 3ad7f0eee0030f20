#include "service/operation_call.h"

#include "absl/strings/str_cat.h"
#include "binance/money_operation.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::string_view OperationStageName(OperationStage stage) {
  switch (stage) {
    case OperationStage::kReceived:
      return "RECEIVED";
    case OperationStage::kAdmitted:
      return "ADMITTED";
    case OperationStage::kFollowing:
      return "FOLLOWING";
    case OperationStage::kQueued:
      return "QUEUED";
    case OperationStage::kPreparing:
      return "PREPARING";
    case OperationStage::kWaitingWindow:
      return "WAITING_WINDOW";
    case OperationStage::kSending:
      return "SENDING";
    case OperationStage::kSettling:
      return "SETTLING";
    case OperationStage::kAnswered:
      return "ANSWERED";
  }
  return "?";
}

bool IsLegalTransition(OperationStage from, OperationStage to) {
  using S = OperationStage;
  switch (from) {
    case S::kReceived:
      return to == S::kAdmitted || to == S::kAnswered;
    case S::kAdmitted:
      return to == S::kQueued || to == S::kFollowing || to == S::kAnswered;
    case S::kFollowing:  // Or reads again a call at another gateway.
      return to == S::kAnswered || to == S::kFollowing;
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

bool OperationCall::Advance(OperationStage next) {
  if (!IsLegalTransition(stage_, next)) return false;
  stage_ = next;
  return true;
}

void EmitOperationLogLine(
    const OperationCall& call,
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
