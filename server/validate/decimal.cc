#include "validate/decimal.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace loan_gateway {
namespace {

struct Limits {
  int max_fraction_digits;
  bool allow_zero;
};

absl::Status CheckSyntax(absl::string_view text, const Limits& limits) {
  if (text.empty()) return absl::InvalidArgumentError("amount is empty");
  const size_t dot = text.find('.');
  const absl::string_view integer = text.substr(0, dot);
  const absl::string_view fraction = dot == absl::string_view::npos
                                         ? absl::string_view()
                                         : text.substr(dot + 1);
  for (char c : text) {
    if (c == '.' || absl::ascii_isdigit(static_cast<unsigned char>(c)))
      continue;
    if (c == 'e' || c == 'E') {
      return absl::InvalidArgumentError("amount must not use an exponent");
    }
    if (c == '+' || c == '-') {
      return absl::InvalidArgumentError("amount must not have a sign");
    }
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("amount must not contain whitespace");
    }
    return absl::InvalidArgumentError(
        "amount must contain only digits and one '.'");
  }
  if (dot != absl::string_view::npos &&
      fraction.find('.') != absl::string_view::npos) {
    return absl::InvalidArgumentError("amount must contain at most one '.'");
  }
  if (integer.empty()) {
    return absl::InvalidArgumentError("amount needs a digit before '.'");
  }
  if (dot != absl::string_view::npos && fraction.empty()) {
    return absl::InvalidArgumentError("amount needs a digit after '.'");
  }
  if (integer.size() > 1 && integer[0] == '0') {
    return absl::InvalidArgumentError("amount must not have leading zeros");
  }
  if (integer.size() > static_cast<size_t>(Decimal::kMaxIntegerDigits)) {
    return absl::InvalidArgumentError(absl::StrCat("amount has more than ",
                                                   Decimal::kMaxIntegerDigits,
                                                   " integer digits"));
  }
  if (limits.max_fraction_digits >= 0 &&
      fraction.size() > static_cast<size_t>(limits.max_fraction_digits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount has more than ", limits.max_fraction_digits, " decimals"));
  }
  const bool is_zero = text.find_first_not_of("0.") == absl::string_view::npos;
  if (is_zero && !limits.allow_zero) {
    return absl::InvalidArgumentError("amount must be greater than zero");
  }
  return absl::OkStatus();
}

// The digits that make the number: no surrounding whitespace, no leading
// zeros, no trailing zeros after the point, no bare point.
absl::string_view Canonical(absl::string_view d) {
  d = absl::StripAsciiWhitespace(d);
  if (d.find('.') != absl::string_view::npos) {
    while (absl::ConsumeSuffix(&d, "0")) {
    }
    absl::ConsumeSuffix(&d, ".");
  }
  while (d.size() > 1 && d[0] == '0' && d[1] != '.') d.remove_prefix(1);
  return d;
}

}  // namespace

bool Decimal::SameNumber(absl::string_view a, absl::string_view b) {
  return !absl::StripAsciiWhitespace(a).empty() && Canonical(a) == Canonical(b);
}

absl::StatusOr<Decimal> Decimal::Parse(absl::string_view text) {
  if (absl::Status s = CheckSyntax(text, {kMaxFractionDigits, false});
      !s.ok()) {
    return s;
  }
  return Decimal(std::string(text));
}

absl::StatusOr<Decimal> Decimal::ParseUpstream(absl::string_view text) {
  if (absl::Status s = CheckSyntax(text, {-1, true}); !s.ok()) return s;
  return Decimal(std::string(text));
}

}  // namespace loan_gateway
