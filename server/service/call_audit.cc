#include "service/call_audit.h"

#include "absl/strings/str_cat.h"
#include "binance/money_operation.h"
#include "errors/error_details.h"
#include "log/utf8.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;

// A decision's free text is bounded: a record stays one readable line.
constexpr size_t kMaxDetail = 300;

std::string StatusCodeName(const absl::Status& status) {
  std::string name = absl::StatusCodeToString(status.code());
  for (char& c : name) c = c == ' ' ? '_' : static_cast<char>(toupper(c));
  return name;
}

}  // namespace

std::string AllowingRuleName(const CallerRule* rule) {
  return rule != nullptr ? absl::StrCat("callers[", rule->identity, "]")
                         : "no policy (insecure sandbox)";
}

AuditRecord CallAnsweredRecord(const std::string& method,
                               const std::string& caller,
                               const CallerRule* rule,
                               const absl::Status& status) {
  AuditRecord record;
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_method(method);
  record.set_caller(ValidUtf8(caller, kMaxDetail));
  record.set_code(StatusCodeName(status));
  record.set_decision(audit::v1::ALLOWED);
  record.set_rule(ValidUtf8(AllowingRuleName(rule), kMaxDetail));
  record.set_reason(status.ok() ? "SUCCEEDED" : "");
  google::rpc::ErrorInfo info;
  if (!status.ok() && errors::GetDetail(status, &info)) {
    record.set_reason(info.reason());
    // The policy's refusals (and an unreadable identity) name their rule.
    if (auto it = info.metadata().find("policy_rule");
        it != info.metadata().end()) {
      record.set_decision(audit::v1::DENIED);
      record.set_rule(ValidUtf8(it->second, kMaxDetail));
    } else if (info.reason() == "CALLER_UNAUTHENTICATED") {
      record.set_decision(audit::v1::DENIED);
      record.set_rule("mutual TLS: a certificate naming the caller");
    }
  }
  if (!status.ok()) {
    record.set_detail(ValidUtf8(status.message(), kMaxDetail));
  }
  return record;
}

AuditRecord BorrowAnsweredRecord(
    const OperationCall& call,
    const absl::StatusOr<institutional_loan::v1::BorrowResponse>& result) {
  AuditRecord record =
      CallAnsweredRecord(std::string(binance::MoneyOperationOf(call.kind).name),
                         call.caller, call.rule.get(), result.status());
  if (result.ok() &&
      result->status() == institutional_loan::v1::BORROW_STATUS_VALIDATED) {
    record.set_reason("VALIDATED");
  }
  record.set_request_id(ValidUtf8(call.request_id, kMaxDetail));
  record.set_validate_only(call.validate_only);
  if (call.borrow) {
    record.set_group_id(call.borrow->group_id);
    record.set_asset(call.borrow->asset_name);
    record.set_amount(call.borrow->amount.text());
  }
  record.set_outcome(
      call.validate_only ? "NOT_SENT" : std::string(OutcomeName(call.outcome)));
  if (result.ok()) record.set_transaction_id(result->transaction_id());
  if (call.binance_code) {
    record.set_binance_code(static_cast<int32_t>(*call.binance_code));
  }
  return record;
}

AuditRecord RequestSignedRecord(const OperationCall& call, int64_t signed_ms) {
  AuditRecord record;
  record.set_kind(audit::v1::REQUEST_SIGNED);
  record.set_method(std::string(binance::MoneyOperationOf(call.kind).name));
  record.set_caller(call.caller);
  record.set_decision(audit::v1::ALLOWED);
  record.set_rule(AllowingRuleName(call.rule.get()));
  record.set_request_id(call.request_id);
  record.set_group_id(call.borrow->group_id);
  record.set_asset(call.borrow->asset_name);
  record.set_amount(call.borrow->amount.text());
  record.set_signed_ms(signed_ms);
  return record;
}

}  // namespace loan_gateway
