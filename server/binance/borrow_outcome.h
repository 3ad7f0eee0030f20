#ifndef LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_
#define LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "binance/borrow_response.h"
#include "contract/error_table.h"
#include "http/http_transport.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway::binance {

// What one borrow exchange with Binance came to.
struct BorrowOutcome {
  Outcome outcome = Outcome::kUnknown;
  std::optional<BorrowReceipt> receipt;  // Set when kSucceeded.
  absl::Status error;  // Set otherwise: code, message and google.rpc details.
  std::string reason;  // ErrorInfo.reason, or "SUCCEEDED".
  std::optional<int64_t> binance_code;
  long http_status = 0;
  const contract::ErrorRule* rule = nullptr;  // The row that decided it.
};

// Classifies an HTTP exchange with the error table. Only the table decides;
// 5XX is UNKNOWN whatever its body says.
BorrowOutcome ClassifyBorrowResult(const HttpResult& result,
                                   const ValidBorrow& borrow);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_BORROW_OUTCOME_H_
