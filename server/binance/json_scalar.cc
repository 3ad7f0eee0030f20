#include "binance/json_scalar.h"

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

bool ReadJsonScalarText(simdjson::ondemand::value value, std::string* out,
                        bool* was_number) {
  simdjson::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return false;
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) return false;
    *out = std::string(s);
    if (was_number != nullptr) *was_number = false;
    return true;
  }
  if (type == simdjson::ondemand::json_type::number) {
    const std::string_view token = value.raw_json_token();
    *out = std::string(absl::StripAsciiWhitespace(
        absl::string_view(token.data(), token.size())));
    if (was_number != nullptr) *was_number = true;
    return true;
  }
  return false;
}

}  // namespace loan_gateway::binance
