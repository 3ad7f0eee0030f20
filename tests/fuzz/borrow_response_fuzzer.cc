// libFuzzer target: Binance's borrow answers (success and error bodies).
#include <cstddef>
#include <cstdint>

#include "binance/borrow_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto receipt = loan_gateway::binance::ParseBorrowReceipt(body);
  if (receipt.ok() && receipt->transaction_id.empty()) __builtin_trap();
  loan_gateway::binance::ParseBinanceError(body);
  loan_gateway::binance::ExtractMaxAmount(body);
  loan_gateway::binance::QuoteBareWords(body);
  return 0;
}
