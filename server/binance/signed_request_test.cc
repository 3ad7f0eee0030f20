#include "binance/signed_request.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

// Records what it was asked to sign.
class RecordingSigner : public Signer {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    signed_payloads.emplace_back(payload);
    return std::string("ab+/cd==");
  }
  KeyType type() const override { return KeyType::kEd25519; }
  mutable std::vector<std::string> signed_payloads;
};

TEST(BuildBorrowRequestTest, SignsExactlyTheBytesSentAndPutsSignatureLast) {
  RecordingSigner signer;
  Secret api_key("the-api-key");
  ValidBorrow borrow{1001, institutional_loan::v1::ASSET_USDT, "USDT",
                     *Decimal::Parse("1000.5"), ""};
  absl::StatusOr<HttpRequest> request =
      BuildBorrowRequest(borrow, "https://api.binance.com", 1764000000000, 5000,
                         {&api_key, &signer});
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, HttpRequest::Method::kPost);
  EXPECT_EQ(request->url,
            "https://api.binance.com/sapi/v1/margin/loan-group/borrow");
  const std::string payload =
      "groupId=1001&assetName=USDT&amount=1000.5&recvWindow=5000&timestamp="
      "1764000000000";
  ASSERT_EQ(signer.signed_payloads, std::vector<std::string>{payload});
  // The base64 signature is percent-encoded, and comes last.
  EXPECT_EQ(request->body, payload + "&signature=ab%2B%2Fcd%3D%3D");
  EXPECT_EQ(request->headers,
            std::vector<std::string>{"X-MBX-APIKEY: the-api-key"});
  EXPECT_FALSE(absl::StrContains(request->url, "signature"));
}

TEST(BuildSignedRequestTest, GetCarriesTheSignedQueryInTheUrl) {
  RecordingSigner signer;
  Secret api_key("k");
  absl::StatusOr<HttpRequest> request =
      BuildSignedRequest(HttpRequest::Method::kGet, "https://h", "/p",
                         {{"type", "BORROW"}}, 7, 5000, {&api_key, &signer});
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(
      request->url,
      "https://h/"
      "p?type=BORROW&recvWindow=5000&timestamp=7&signature=ab%2B%2Fcd%3D%3D");
  EXPECT_TRUE(request->body.empty());
}

}  // namespace
}  // namespace loan_gateway::binance
