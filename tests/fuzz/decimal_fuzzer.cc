// libFuzzer target: amount parsing, and that an accepted amount keeps its text.
#include <cstddef>
#include <cstdint>

#include "validate/decimal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = loan_gateway::Decimal::Parse(text);
  if (parsed.ok() && parsed->text() != text) __builtin_trap();
  if (parsed.ok() && !loan_gateway::Decimal::ParseUpstream(text).ok())
    __builtin_trap();
  return 0;
}
