#include "contract/rule_error.h"

#include "errors/error_details.h"
#include "google/rpc/error_details.pb.h"

namespace loan_gateway::contract {

absl::Status ErrorForRule(const ErrorRule& rule, absl::string_view message,
                          const std::map<std::string, std::string>& metadata,
                          std::optional<absl::Duration> retry_after,
                          absl::string_view extra_subject,
                          absl::string_view extra_description) {
  std::map<std::string, std::string> info = metadata;
  if (rule.outcome) info["outcome"] = std::string(OutcomeName(*rule.outcome));
  absl::Status status =
      errors::MakeError(rule.code, message, ReasonName(rule.reason), info);
  // RetryInfo only where the contract says waiting helps (never on UNKNOWN),
  // from Retry-After when Binance sent one.
  if (!rule.retry_after) {
    retry_after = std::nullopt;
  } else if (!retry_after) {
    retry_after = rule.retry_after;
  }
  if (retry_after) errors::AttachRetryInfo(status, *retry_after);
  if (rule.extra == ExtraDetail::kPreconditionFailure) {
    google::rpc::PreconditionFailure failure;
    auto* v = failure.add_violations();
    v->set_type(ReasonName(rule.reason));
    v->set_subject(std::string(extra_subject));
    v->set_description(std::string(extra_description));
    errors::AttachDetail(status, failure);
  } else if (rule.extra == ExtraDetail::kQuotaFailure) {
    google::rpc::QuotaFailure failure;
    auto* v = failure.add_violations();
    v->set_subject(std::string(extra_subject));
    v->set_description(std::string(extra_description));
    errors::AttachDetail(status, failure);
  }
  return status;
}

absl::Status RuleError(const ErrorRule& rule, absl::string_view message,
                       const std::map<std::string, std::string>& metadata) {
  return ErrorForRule(rule, message, metadata, std::nullopt, "", "");
}

}  // namespace loan_gateway::contract
