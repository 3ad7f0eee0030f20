#ifndef LOAN_GATEWAY_SERVER_BINANCE_BORROW_RECORDS_H_
#define LOAN_GATEWAY_SERVER_BINANCE_BORROW_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

inline constexpr char kBorrowRecordsPath[] =
    "/sapi/v1/margin/loan-group/borrow-repay";

// One row of GET /sapi/v1/margin/loan-group/borrow-repay.
struct BorrowRecord {
  std::string transaction_id;  // tranId, exact text.
  std::string asset;
  std::string amount;  // Exact text.
  std::string status;  // CONFIRM | FAILED
  std::string type;    // BORROW | REPAY...
  int64_t timestamp_ms = 0;
};

struct BorrowRecordsPage {
  std::vector<BorrowRecord> rows;
  int64_t total = 0;
};

// Parses {"rows":[...],"total":N}; ids and amounts as numbers or strings.
absl::StatusOr<BorrowRecordsPage> ParseBorrowRecords(absl::string_view body);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_BORROW_RECORDS_H_
