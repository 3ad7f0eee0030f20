// libFuzzer target: Binance's borrow answers (success and error bodies).
#include <cstddef>
#include <cstdint>

#include "binance/borrow_response.h"
#include "binance/error_message_templates.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto receipt = loan_gateway::binance::ParseBorrowReceipt(body);
  if (receipt.ok() && receipt->transaction_id.empty()) __builtin_trap();
  loan_gateway::binance::ParseBinanceError(body);
  // The message templates: a stated figure must always be a whole capture.
  for (int64_t code : {-27009, -27012, -27020}) {
    auto figures = loan_gateway::binance::ReadStatedFigures(code, body);
    if (figures && code == -27009 && figures->max_amount.empty())
      __builtin_trap();
  }
  loan_gateway::binance::QuoteBareWords(body);
  return 0;
}
