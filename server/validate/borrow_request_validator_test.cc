#include "validate/borrow_request_validator.h"

#include "errors/error_details.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

using institutional_loan::v1::BorrowRequest;

BorrowRequest Good() {
  BorrowRequest r;
  r.set_group_id(1001);
  r.set_asset(institutional_loan::v1::ASSET_USDC);
  r.set_amount("250.75");
  r.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  return r;
}

std::vector<std::string> BadFields(const absl::Status& status) {
  google::rpc::BadRequest bad;
  EXPECT_TRUE(errors::GetDetail(status, &bad));
  std::vector<std::string> fields;
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

TEST(BorrowRequestValidatorTest, AcceptsAGoodRequest) {
  absl::StatusOr<ValidBorrow> valid = ValidateBorrowRequest(Good());
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->group_id, 1001);
  EXPECT_EQ(valid->asset_name, "USDC");
  EXPECT_EQ(valid->amount.text(), "250.75");
}

TEST(BorrowRequestValidatorTest, EachBadFieldIsNamedInBadRequest) {
  struct Case {
    std::function<void(BorrowRequest&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](BorrowRequest& r) { r.set_group_id(0); }, "group_id"},
      {[](BorrowRequest& r) { r.set_group_id(-5); }, "group_id"},
      {[](BorrowRequest& r) {
         r.set_asset(institutional_loan::v1::ASSET_UNSPECIFIED);
       },
       "asset"},
      {[](BorrowRequest& r) {
         r.set_asset(static_cast<institutional_loan::v1::Asset>(9));
       },
       "asset"},
      {[](BorrowRequest& r) { r.set_amount("1e3"); }, "amount"},
      {[](BorrowRequest& r) { r.set_amount(""); }, "amount"},
      {[](BorrowRequest& r) { r.set_request_id("not-a-uuid"); }, "request_id"},
      {[](BorrowRequest& r) {
         r.set_request_id("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5g");
       },
       "request_id"},
  };
  for (const Case& c : cases) {
    BorrowRequest request = Good();
    c.spoil(request);
    absl::StatusOr<ValidBorrow> valid = ValidateBorrowRequest(request);
    ASSERT_FALSE(valid.ok()) << c.field;
    EXPECT_EQ(valid.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(BadFields(valid.status()), std::vector<std::string>{c.field});
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(errors::GetDetail(valid.status(), &info));
    EXPECT_EQ(info.reason(), "INVALID_REQUEST");
    EXPECT_EQ(info.domain(), "loan-gateway");
  }
}

TEST(BorrowRequestValidatorTest, ReportsEveryBadFieldAtOnce) {
  BorrowRequest request;
  request.set_request_id("x");
  absl::StatusOr<ValidBorrow> valid = ValidateBorrowRequest(request);
  ASSERT_FALSE(valid.ok());
  EXPECT_EQ(
      BadFields(valid.status()),
      (std::vector<std::string>{"group_id", "asset", "amount", "request_id"}));
}

TEST(BorrowRequestValidatorTest, EmptyRequestIdIsAllowed) {
  BorrowRequest request = Good();
  request.clear_request_id();
  EXPECT_TRUE(ValidateBorrowRequest(request).ok());
}

TEST(IsUuidTest, CanonicalFormOnly) {
  EXPECT_TRUE(IsUuid("8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f"));
  EXPECT_TRUE(IsUuid("8C6F7F8E-3B5E-4C1A-9D2F-0A1B2C3D4E5F"));
  EXPECT_FALSE(IsUuid("8c6f7f8e3b5e4c1a9d2f0a1b2c3d4e5f"));
  EXPECT_FALSE(IsUuid("{8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f}"));
  EXPECT_FALSE(IsUuid(""));
}

TEST(CanonicalRequestIdTest, OneUuidInEitherCaseIsOneKey) {
  BorrowRequest upper = Good();
  upper.set_request_id("8C6F7F8E-3B5E-4C1A-9D2F-0A1B2C3D4E5F");
  absl::StatusOr<ValidBorrow> valid = ValidateBorrowRequest(upper);
  ASSERT_TRUE(valid.ok());
  EXPECT_EQ(valid->request_id, "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
  EXPECT_EQ(CanonicalRequestId("8C6F7F8E-3b5e-4C1A-9D2F-0a1b2c3d4e5f"),
            "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f");
}

}  // namespace
}  // namespace loan_gateway
