#ifndef LOAN_GATEWAY_SERVER_SERVICE_PAGE_TOKEN_H_
#define LOAN_GATEWAY_SERVER_SERVICE_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "institutional_loan/v1/institutional_loan.pb.h"

namespace loan_gateway {

// Where the next page of ListOperations starts (AIP-158): after the last
// record shown, for the same filters. Opaque to callers.
struct PageToken {
  absl::Time created;
  std::string request_id;
  uint64_t filters = 0;  // ListFilterHash of the request it continues.
};

// A fingerprint of a request's filters (page_size and page_token aside):
// a token is valid only for the filters it was made for.
uint64_t ListFilterHash(
    const institutional_loan::v1::ListOperationsRequest& request);

std::string EncodePageToken(const PageToken& token);
// INVALID_ARGUMENT for anything EncodePageToken did not make.
absl::StatusOr<PageToken> DecodePageToken(absl::string_view text);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_PAGE_TOKEN_H_
