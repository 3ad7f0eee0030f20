#include "validate/amount_units.h"

#include <algorithm>

#include "validate/decimal.h"

namespace loan_gateway {

namespace {

// Units of a validated decimal's text, its fraction cut after 8 digits.
AmountUnits UnitsOf(const std::string& text) {
  const size_t dot = text.find('.');
  const std::string fraction =
      dot == std::string::npos ? "" : text.substr(dot + 1);
  AmountUnits units = 0;
  for (char c : text.substr(0, dot)) units = units * 10 + (c - '0');
  for (int i = 0; i < Decimal::kMaxFractionDigits; ++i) {
    units = units * 10 +
            (i < static_cast<int>(fraction.size()) ? fraction[i] - '0' : 0);
  }
  return units;
}

}  // namespace

absl::StatusOr<AmountUnits> ToAmountUnits(absl::string_view amount) {
  absl::StatusOr<Decimal> parsed = Decimal::Parse(amount);
  if (!parsed.ok()) return parsed.status();
  return UnitsOf(parsed->text());
}

absl::StatusOr<AmountUnits> UpstreamAmountUnitsFloor(absl::string_view amount) {
  absl::StatusOr<Decimal> parsed = Decimal::ParseUpstream(amount);
  if (!parsed.ok()) return parsed.status();
  return UnitsOf(parsed->text());
}

std::string AmountText(AmountUnits units) {
  const bool negative = units < 0;
  if (negative) units = -units;
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + static_cast<int>(units % 10)));
    units /= 10;
  } while (units > 0);
  while (digits.size() <= static_cast<size_t>(Decimal::kMaxFractionDigits)) {
    digits.push_back('0');
  }
  std::reverse(digits.begin(), digits.end());
  std::string whole =
      digits.substr(0, digits.size() - Decimal::kMaxFractionDigits);
  std::string fraction =
      digits.substr(digits.size() - Decimal::kMaxFractionDigits);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return (negative ? "-" : "") + whole +
         (fraction.empty() ? "" : "." + fraction);
}

}  // namespace loan_gateway
