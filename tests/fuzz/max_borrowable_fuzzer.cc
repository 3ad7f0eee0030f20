// libFuzzer target: Binance's max-borrowable answers.
#include <cstddef>
#include <cstdint>

#include "binance/max_borrowable.h"
#include "validate/decimal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = loan_gateway::binance::ParseMaxBorrowable(body);
  // A figure it returns is always an exact decimal.
  if (parsed.ok() && parsed->has_value() &&
      !loan_gateway::Decimal::ParseUpstream(**parsed).ok()) {
    __builtin_trap();
  }
  return 0;
}
