#ifndef LOAN_GATEWAY_SERVER_BINANCE_MAX_BORROWABLE_H_
#define LOAN_GATEWAY_SERVER_BINANCE_MAX_BORROWABLE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

// GET /sapi/v1/margin/loan-group/max-borrowable?groupId=&assetName= (weight
// 100 per IP).
inline constexpr char kMaxBorrowablePath[] =
    "/sapi/v1/margin/loan-group/max-borrowable";

// The `maxBorrowableAmount` of its answer as exact decimal text (a JSON
// string or number, never through a double); nullopt when Binance sends it
// null or empty (it does not know); an error for anything else.
absl::StatusOr<std::optional<std::string>> ParseMaxBorrowable(
    absl::string_view body);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_MAX_BORROWABLE_H_
