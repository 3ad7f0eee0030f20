// libFuzzer target: GET /api/v3/time answers.
#include <cstddef>
#include <cstdint>

#include "clock/binance_clock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto ms = loan_gateway::ParseServerTime(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (ms.ok() && *ms <= 0) __builtin_trap();
  return 0;
}
