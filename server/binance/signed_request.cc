#include "binance/signed_request.h"

#include "absl/strings/str_cat.h"
#include "binance/percent_encoding.h"

namespace loan_gateway::binance {
namespace {

// The pair a request is signed with: the ring's in force now (`held` keeps
// it alive while this request is built, whatever a reload does), else the
// fixed one.
struct KeyPair {
  std::shared_ptr<const SigningKey> held;
  const Secret* api_key;
  const Signer* signer;
};

KeyPair TakeKeyPair(const Credentials& credentials) {
  if (credentials.ring == nullptr) {
    return {nullptr, credentials.api_key, credentials.signer};
  }
  std::shared_ptr<const SigningKey> current = credentials.ring->Current();
  return {current, &current->api_key, current->signer.get()};
}

}  // namespace

absl::StatusOr<HttpRequest> BuildSignedRequest(
    HttpRequest::Method method, const std::string& base_url,
    const std::string& path,
    std::vector<std::pair<std::string, std::string>> params,
    int64_t timestamp_ms, int64_t recv_window_ms,
    const Credentials& credentials) {
  params.emplace_back("recvWindow", absl::StrCat(recv_window_ms));
  params.emplace_back("timestamp", absl::StrCat(timestamp_ms));
  const std::string payload = EncodeParams(params);
  const KeyPair key = TakeKeyPair(credentials);
  absl::StatusOr<std::string> signature = key.signer->Sign(payload);
  if (!signature.ok()) return signature.status();
  HttpRequest request;
  request.method = method;
  request.headers.push_back(
      absl::StrCat("X-MBX-APIKEY: ", key.api_key->Reveal()));
  std::string signed_payload =
      absl::StrCat(payload, "&signature=", PercentEncode(*signature));
  if (method == HttpRequest::Method::kGet) {
    request.url = absl::StrCat(base_url, path, "?", signed_payload);
  } else {
    request.url = base_url + path;
    request.body = std::move(signed_payload);
  }
  return request;
}

absl::StatusOr<HttpRequest> BuildBorrowRequest(const ValidBorrow& borrow,
                                               const std::string& base_url,
                                               int64_t timestamp_ms,
                                               int64_t recv_window_ms,
                                               const Credentials& credentials,
                                               const char* path) {
  return BuildSignedRequest(HttpRequest::Method::kPost, base_url, path,
                            {{"groupId", absl::StrCat(borrow.group_id)},
                             {"assetName", borrow.asset_name},
                             {"amount", borrow.amount.text()}},
                            timestamp_ms, recv_window_ms, credentials);
}

}  // namespace loan_gateway::binance
