#ifndef LOAN_GATEWAY_SERVER_BINANCE_SIGNED_REQUEST_H_
#define LOAN_GATEWAY_SERVER_BINANCE_SIGNED_REQUEST_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "http/http_transport.h"
#include "sign/key_ring.h"
#include "sign/secret.h"
#include "sign/signer.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway::binance {

inline constexpr char kBorrowPath[] = "/sapi/v1/margin/loan-group/borrow";
// Repay takes the same parameters; Binance repays min(available, amount).
inline constexpr char kRepayPath[] = "/sapi/v1/margin/loan-group/repay";

// Everything needed to sign a request for the credit account: a fixed key
// pair, or a ring whose pair may be replaced while the gateway runs.
struct Credentials {
  const Secret* api_key = nullptr;
  const Signer* signer = nullptr;
  // When set, api_key and signer are unused: each request takes the ring's
  // pair once, so its header and signature always belong to one pair.
  const KeyRing* ring = nullptr;
};

// Builds a signed SAPI request: the params (then recvWindow and timestamp)
// percent-encoded, the signature of exactly those bytes appended last, and the
// X-MBX-APIKEY header. A POST carries them as an x-www-form-urlencoded body
// (its URL holds no secret); a GET as the query string, so a GET's URL must
// never be logged.
absl::StatusOr<HttpRequest> BuildSignedRequest(
    HttpRequest::Method method, const std::string& base_url,
    const std::string& path,
    std::vector<std::pair<std::string, std::string>> params,
    int64_t timestamp_ms, int64_t recv_window_ms,
    const Credentials& credentials);

// The signed POST of a validated money operation (groupId, assetName,
// amount) to `path`: kBorrowPath, or kRepayPath.
absl::StatusOr<HttpRequest> BuildBorrowRequest(const ValidBorrow& borrow,
                                               const std::string& base_url,
                                               int64_t timestamp_ms,
                                               int64_t recv_window_ms,
                                               const Credentials& credentials,
                                               const char* path = kBorrowPath);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_SIGNED_REQUEST_H_
