// libFuzzer target: Binance's ltv-details answers.
#include <cstddef>
#include <cstdint>

#include "binance/risk_unit_details.h"
#include "validate/decimal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = loan_gateway::binance::ParseRiskUnitDetails(body, 1);
  // Every amount it returns is empty or an exact decimal.
  if (parsed.ok() && parsed->has_value()) {
    for (const auto& l : (*parsed)->liabilities) {
      if (!l.principal.empty() &&
          !loan_gateway::Decimal::ParseUpstream(l.principal).ok()) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
