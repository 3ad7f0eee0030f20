#include "validate/wire_decoder.h"

#include "absl/strings/escaping.h"
#include "errors/error_details.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "institutional_loan/v1/institutional_loan.pb.h"

namespace loan_gateway {
namespace {

using institutional_loan::v1::BorrowRequest;

// A BorrowRequest's wire bytes with `bytes` in the field numbered `field`
// (what a client that ignores the schema's UTF-8 rule sends).
std::string WireWithRawString(const BorrowRequest& base, int field,
                              const std::string& bytes) {
  std::string wire = base.SerializeAsString();
  wire.push_back(static_cast<char>((field << 3) | 2));
  wire.push_back(static_cast<char>(bytes.size()));
  return wire + bytes;
}

std::string ViolatedField(const absl::Status& status) {
  google::rpc::BadRequest bad;
  if (!errors::GetDetail(status, &bad) || bad.field_violations_size() != 1) {
    return "(no BadRequest)";
  }
  return bad.field_violations(0).field();
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRefusesEveryMalformedClass) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x92\xB0"));  // é € 💰
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  for (const char* bad :
       {"\x80", "\xBF", "\xC3", "\xE2\x82", "\xF0\x9F\x92", "\xC0\xAF",
        "\xE0\x80\xAF", "\xF0\x80\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xF8\x88\x80\x80", "\xFF", "ok\xC3(", "\xE2\x28\xA1"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << absl::CEscape(bad);
  }
}

TEST(DecodeRequestTest, NamesTheStringFieldThatIsNotUtf8) {
  BorrowRequest base;
  base.set_group_id(1001);
  const auto* descriptor = BorrowRequest::descriptor();
  for (const char* name : {"request_id", "amount"}) {
    const int number = descriptor->FindFieldByName(name)->number();
    BorrowRequest decoded;
    absl::Status status =
        DecodeRequest(WireWithRawString(base, number, "ab\xFF\xFE"), decoded);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(ViolatedField(status), name);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(errors::GetDetail(status, &info));
    EXPECT_EQ(info.reason(), "INVALID_REQUEST");
  }
}

TEST(DecodeRequestTest, DecodesAValidRequestAndRefusesGarbage) {
  BorrowRequest original;
  original.set_group_id(1001);
  original.set_amount("12.5");
  original.set_request_id("5f0c3a8e-0000-4000-8000-000000000001");
  BorrowRequest decoded;
  ASSERT_TRUE(DecodeRequest(original.SerializeAsString(), decoded).ok());
  EXPECT_EQ(decoded.amount(), "12.5");
  EXPECT_EQ(decoded.request_id(), original.request_id());
  absl::Status garbage = DecodeRequest("\x0A\xFF\xFF", decoded);
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loan_gateway
