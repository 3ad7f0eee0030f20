// libFuzzer target: GET /sapi/v1/margin/loan-group/borrow-repay answers, read
// by reconciliation.
#include <cstddef>
#include <cstdint>

#include "binance/borrow_records.h"
#include "validate/decimal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto page = loan_gateway::binance::ParseBorrowRecords(body);
  if (page.ok()) {
    for (const auto& row : page->rows) {
      if (row.transaction_id.empty()) __builtin_trap();
      loan_gateway::Decimal::SameNumber(row.amount, row.amount);
    }
  }
  return 0;
}
