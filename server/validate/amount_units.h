#ifndef LOAN_GATEWAY_SERVER_VALIDATE_AMOUNT_UNITS_H_
#define LOAN_GATEWAY_SERVER_VALIDATE_AMOUNT_UNITS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// An amount as an exact count of 10^-8 (the gateway's finest fraction), for
// sums and comparisons (rolling caps): 20 integer digits and 8 fraction
// digits fit in 128 bits many times over. Never a floating-point number.
using AmountUnits = __int128;

// Units of an amount in the gateway's syntax (Decimal::Parse); an error for
// anything else.
absl::StatusOr<AmountUnits> ToAmountUnits(absl::string_view amount);

// Units of an amount as Binance sends it (Decimal::ParseUpstream: zero and
// any number of fraction digits), rounded down to 10^-8: an amount in the
// gateway's syntax is above it exactly when it is above the upstream amount.
absl::StatusOr<AmountUnits> UpstreamAmountUnitsFloor(absl::string_view amount);

// The amount as exact decimal text, without trailing fraction zeros.
std::string AmountText(AmountUnits units);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_VALIDATE_AMOUNT_UNITS_H_
