#ifndef LOAN_GATEWAY_SERVER_CONTRACT_RULE_ERROR_H_
#define LOAN_GATEWAY_SERVER_CONTRACT_RULE_ERROR_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contract/error_table.h"

namespace loan_gateway::contract {

// The error for a row, with ErrorInfo (metadata filled in, and the row's
// outcome when it has one), RetryInfo and the
// row's extra detail. Also used for refusals decided before sending.
absl::Status ErrorForRule(const ErrorRule& rule, absl::string_view message,
                          const std::map<std::string, std::string>& metadata,
                          std::optional<absl::Duration> retry_after,
                          absl::string_view extra_subject,
                          absl::string_view extra_description);

// The error for a row with no extra detail values: ErrorInfo metadata with
// the row's outcome, and its default RetryInfo. For refusals decided by the
// gateway and settlements without a Binance answer.
absl::Status RuleError(const ErrorRule& rule, absl::string_view message,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace loan_gateway::contract

#endif  // LOAN_GATEWAY_SERVER_CONTRACT_RULE_ERROR_H_
