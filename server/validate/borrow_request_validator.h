#ifndef LOAN_GATEWAY_SERVER_VALIDATE_BORROW_REQUEST_VALIDATOR_H_
#define LOAN_GATEWAY_SERVER_VALIDATE_BORROW_REQUEST_VALIDATOR_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "institutional_loan/v1/institutional_loan.pb.h"
#include "validate/decimal.h"

namespace loan_gateway {

// A Borrow request that passed every check; only this is ever signed.
struct ValidBorrow {
  int64_t group_id = 0;
  institutional_loan::v1::Asset asset =
      institutional_loan::v1::ASSET_UNSPECIFIED;
  std::string asset_name;  // Binance's assetName: "USDT" or "USDC".
  Decimal amount;
  std::string request_id;  // Empty when the caller gave none.
};

// Checks every field of a BorrowRequest. On failure returns INVALID_ARGUMENT
// with ErrorInfo{reason: INVALID_REQUEST} and a BadRequest listing every bad
// field (all of them, not just the first).
absl::StatusOr<ValidBorrow> ValidateBorrowRequest(
    const institutional_loan::v1::BorrowRequest& request);

// True for a UUID: 8-4-4-4-12 hex digits, either case (AIP-155 request ids).
bool IsUuid(absl::string_view text);

// The one form a request_id is journaled, compared and echoed in: lowercase.
// "8C6F...-..." and "8c6f...-..." name the same borrow, so they must be one
// journal key (otherwise the same id in two cases would borrow twice).
std::string CanonicalRequestId(absl::string_view uuid);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_VALIDATE_BORROW_REQUEST_VALIDATOR_H_
