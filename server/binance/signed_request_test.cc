#include "binance/signed_request.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "binance/percent_encoding.h"
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

// An owner-only key file, as the gateway demands.
void WriteKeyFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write);
}

// With a ring, each request takes the pair in force when it is built: its
// header and its signature belong to one pair, the new one after a reload.
TEST(BuildSignedRequestTest, WithARingEachRequestUsesThePairInForce) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          absl::StrCat("signed_request_ring_", getpid());
  std::filesystem::create_directories(dir);
  WriteKeyFile(dir + "/api_key", "key-one");
  WriteKeyFile(dir + "/secret", "secret-one");
  absl::StatusOr<std::unique_ptr<KeyRing>> ring = KeyRing::Open(
      dir + "/api_key", dir + "/secret", KeyType::kHmacSha256, absl::Hours(1),
      /*watch=*/nullptr);
  ASSERT_TRUE(ring.ok()) << ring.status();
  auto signed_with = [&](const std::string& api_key,
                         const std::string& secret) {
    absl::StatusOr<HttpRequest> request =
        BuildSignedRequest(HttpRequest::Method::kGet, "https://h", "/p", {}, 7,
                           5000, {.ring = ring->get()});
    EXPECT_TRUE(request.ok()) << request.status();
    const std::string payload = "recvWindow=5000&timestamp=7";
    return request->headers ==
               std::vector<std::string>{"X-MBX-APIKEY: " + api_key} &&
           request->url ==
               absl::StrCat("https://h/p?", payload, "&signature=",
                            PercentEncode(*(*MakeSigner(KeyType::kHmacSha256,
                                                        Secret(secret)))
                                               ->Sign(payload)));
  };
  EXPECT_TRUE(signed_with("key-one", "secret-one"));
  WriteKeyFile(dir + "/api_key", "key-two");
  WriteKeyFile(dir + "/secret", "secret-two");
  ASSERT_TRUE((*ring)->Reload().ok());
  EXPECT_TRUE(signed_with("key-two", "secret-two"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace loan_gateway::binance
