#ifndef LOAN_GATEWAY_SERVER_BINANCE_BORROW_RESPONSE_H_
#define LOAN_GATEWAY_SERVER_BINANCE_BORROW_RESPONSE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

// A successful borrow as Binance reported it, every digit as sent.
struct BorrowReceipt {
  std::string transaction_id;
  std::optional<std::string> amount;  // Absent when Binance did not send one.
};

// Parses a 2XX borrow answer. Accepts valid JSON and the documented shape
// ({"transactionId":123,"amount":1.5,"status":success}, status unquoted), with
// the id and amount as JSON numbers or strings of any size. Numbers are read
// as their exact text, never through a double. Fails when there is no
// readable transaction id or the status says anything but success.
absl::StatusOr<BorrowReceipt> ParseBorrowReceipt(absl::string_view body);

// Binance's error body {"code": -27009, "msg": "..."}; nullopt when the body
// is not that (HTML from the WAF, empty, malformed).
struct BinanceError {
  int64_t code = 0;
  std::string msg;
};
std::optional<BinanceError> ParseBinanceError(absl::string_view body);

// Wraps bare words that stand where a JSON value belongs in quotes
// (`"status":success` -> `"status":"success"`), leaving strings, numbers,
// true, false and null alone: Binance documents such bodies.
std::string QuoteBareWords(absl::string_view body);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_BORROW_RESPONSE_H_
