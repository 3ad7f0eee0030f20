#include "policy/access_policy.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "errors/error_details.h"
#include "google/protobuf/text_format.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

constexpr char kPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "GetBorrow" ]
    group_ids: [ 1001 ]
    assets: [ ASSET_USDT ]
    max_amount_per_call: "500"
    caps {
      asset: ASSET_USDT
      window { seconds: 3600 }
      max_amount: "1000"
    }
  }
  callers { identity: "reader" methods: "GetBorrow" read_all_borrows: true }
  callers { identity: "oncall" admin: true }
)pb";

AccessPolicy Policy() {
  policy::v1::AccessPolicy message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kPolicy, &message));
  return *AccessPolicy::FromMessage(message);
}

std::string Reason(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return errors::GetDetail(status, &info) ? info.reason() : "";
}

const std::string kRebalancer = "spiffe://lg/ns/treasury/sa/rebalancer";

TEST(AccessPolicyTest, DeniesByDefaultAndByMethod) {
  AccessPolicy policy = Policy();
  absl::StatusOr<const CallerRule*> stranger =
      policy.Admit("spiffe://lg/ns/x", "Borrow");
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Reason(stranger.status()), "CALLER_NOT_ALLOWED");
  absl::StatusOr<const CallerRule*> reader = policy.Admit("reader", "Borrow");
  EXPECT_EQ(Reason(reader.status()), "METHOD_NOT_ALLOWED");
  EXPECT_TRUE(policy.Admit("reader", "GetBorrow").ok());
  ASSERT_TRUE(policy.Admit(kRebalancer, "Borrow").ok());
}

// The kill switch is for admins only, whatever `methods` says; an admin
// method in `methods` is a mistake the load names.
TEST(AccessPolicyTest, AdminMethodsNeedAdmin) {
  AccessPolicy policy = Policy();
  for (const char* method :
       {"HaltBorrowing", "ResumeBorrowing", "GetBorrowingState"}) {
    EXPECT_TRUE(policy.Admit("oncall", method).ok()) << method;
    EXPECT_EQ(Reason(policy.Admit(kRebalancer, method).status()),
              "METHOD_NOT_ALLOWED")
        << method;
  }
  EXPECT_EQ(Reason(policy.Admit("oncall", "Borrow").status()),
            "METHOD_NOT_ALLOWED");
  EXPECT_TRUE((*policy.Admit("reader", "GetBorrow"))->read_all_borrows);
  EXPECT_FALSE((*policy.Admit(kRebalancer, "GetBorrow"))->read_all_borrows);
  policy::v1::AccessPolicy listed;
  listed.add_callers()->set_identity("a");
  listed.mutable_callers(0)->add_methods("HaltBorrowing");
  EXPECT_TRUE(absl::StrContains(
      AccessPolicy::FromMessage(listed).status().message(), "admin: true"));
}

TEST(AccessPolicyTest, RiskUnitAssetAndAmountOfOneBorrow) {
  AccessPolicy policy = Policy();
  const CallerRule& rule = **policy.Admit(kRebalancer, "Borrow");
  EXPECT_TRUE(AccessPolicy::CheckBorrow(rule, 1001, "USDT", "500").ok());
  EXPECT_EQ(Reason(AccessPolicy::CheckBorrow(rule, 1002, "USDT", "1")),
            "RISK_UNIT_NOT_ALLOWED");
  EXPECT_EQ(Reason(AccessPolicy::CheckBorrow(rule, 1001, "USDC", "1")),
            "ASSET_NOT_ALLOWED");
  absl::Status above = AccessPolicy::CheckBorrow(rule, 1001, "USDT", "500.01");
  EXPECT_EQ(above.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Reason(above), "AMOUNT_ABOVE_CALLER_LIMIT");
}

TEST(AccessPolicyTest, RollingCapCountsTheWindowAndSaysWhenRoomFrees) {
  AccessPolicy policy = Policy();
  const CallerRule& rule = **policy.Admit(kRebalancer, "Borrow");
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::vector<CountedBorrow> counted = {
      {now - absl::Minutes(90), *ToAmountUnits("500")},  // Outside 1h.
      {now - absl::Minutes(50), *ToAmountUnits("400")},
      {now - absl::Minutes(10), *ToAmountUnits("300")}};
  EXPECT_TRUE(AccessPolicy::CheckCaps(rule, "USDT", "300", counted, now).ok());
  absl::Status capped =
      AccessPolicy::CheckCaps(rule, "USDT", "300.00000001", counted, now);
  EXPECT_EQ(capped.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Reason(capped), "CALLER_CAP_REACHED");
  google::rpc::QuotaFailure quota;
  ASSERT_TRUE(errors::GetDetail(capped, &quota));
  EXPECT_TRUE(absl::StrContains(quota.violations(0).subject(), kRebalancer));
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(errors::GetDetail(capped, &retry));
  // The 400 borrowed 50 minutes ago leaves the hour in 10 minutes.
  EXPECT_EQ(retry.retry_delay().seconds(), 600);
  EXPECT_TRUE(absl::StrContains(capped.message(), "borrowed 700 USDT"))
      << capped.message();
}

TEST(AccessPolicyTest, ABadPolicyIsRefusedNamingTheMistake) {
  policy::v1::AccessPolicy twice;
  twice.add_callers()->set_identity("a");
  twice.add_callers()->set_identity("a");
  EXPECT_TRUE(absl::StrContains(
      AccessPolicy::FromMessage(twice).status().message(), "listed twice"));
  policy::v1::AccessPolicy bad_amount;
  auto* caller = bad_amount.add_callers();
  caller->set_identity("a");
  caller->set_max_amount_per_call("1e3");
  EXPECT_FALSE(AccessPolicy::FromMessage(bad_amount).ok());
  policy::v1::AccessPolicy bad_method;
  bad_method.add_callers()->set_identity("a");
  bad_method.mutable_callers(0)->add_methods("Transfer");
  EXPECT_TRUE(absl::StrContains(
      AccessPolicy::FromMessage(bad_method).status().message(), "Transfer"));
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string text = absl::StrCat(dir, "/policy_", getpid(), ".txtpb");
  std::ofstream(text) << "callers {\n  identiti: \"a\"\n}\n";
  absl::StatusOr<AccessPolicy> broken = AccessPolicy::Load(text);
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "line 2"))
      << broken.status();
  const std::string json = absl::StrCat(dir, "/policy_", getpid(), ".json");
  std::ofstream(json) << R"({"callers": [{"identity": "a",
      "methods": ["Borrow"], "groupIds": ["1001"], "assets": ["ASSET_USDC"]}]})";
  absl::StatusOr<AccessPolicy> from_json = AccessPolicy::Load(json);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(AccessPolicy::CheckBorrow(**from_json->Admit("a", "Borrow"), 1001,
                                        "USDC", "1")
                  .ok());
  std::remove(text.c_str());
  std::remove(json.c_str());
}

// The example the README's container recipe and compose mount.
TEST(AccessPolicyTest, TheShippedExampleLoads) {
  absl::StatusOr<AccessPolicy> example = AccessPolicy::Load(POLICY_EXAMPLE);
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_EQ(example->callers(), 3u);
}

}  // namespace
}  // namespace loan_gateway
