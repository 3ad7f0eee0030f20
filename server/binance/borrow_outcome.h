#ifndef LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_
#define LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "binance/borrow_response.h"
#include "binance/error_table.h"
#include "http/http_transport.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway::binance {

// What one borrow exchange with Binance came to.
struct BorrowOutcome {
  OutcomeClass outcome = OutcomeClass::kUnknown;
  std::optional<BorrowReceipt> receipt;  // Set when kSucceeded.
  absl::Status error;  // Set otherwise: code, message and google.rpc details.
  std::string reason;  // ErrorInfo.reason, or "SUCCEEDED".
  std::optional<int64_t> binance_code;
  long http_status = 0;
};

// Classifies an HTTP exchange with the error table. Only the table decides;
// 5XX is UNKNOWN whatever its body says.
BorrowOutcome ClassifyBorrowResult(const HttpResult& result,
                                   const ValidBorrow& borrow);

// The error for a row, with ErrorInfo (metadata filled in), RetryInfo and the
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
                       std::map<std::string, std::string> metadata = {});

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_
