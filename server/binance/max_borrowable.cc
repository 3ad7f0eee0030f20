#include "binance/max_borrowable.h"

#include <simdjson.h>

#include "absl/strings/str_cat.h"
#include "binance/json_scalar.h"
#include "validate/decimal.h"

namespace loan_gateway::binance {

absl::StatusOr<std::optional<std::string>> ParseMaxBorrowable(
    absl::string_view body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body.data(), body.size());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  simdjson::ondemand::value value;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("max-borrowable: not a JSON object");
  }
  if (object["maxBorrowableAmount"].get(value) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("max-borrowable: no maxBorrowableAmount");
  }
  bool is_null = false;
  if (value.is_null().get(is_null) == simdjson::SUCCESS && is_null) {
    return std::nullopt;
  }
  std::string text;
  if (!ReadJsonScalarText(value, &text)) {
    return absl::InvalidArgumentError(
        "max-borrowable: maxBorrowableAmount is not a number or a string");
  }
  if (text.empty()) return std::nullopt;
  absl::StatusOr<Decimal> amount = Decimal::ParseUpstream(text);
  if (!amount.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max-borrowable: maxBorrowableAmount ", amount.status().message()));
  }
  return amount->text();
}

}  // namespace loan_gateway::binance
