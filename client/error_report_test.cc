#include "error_report.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway::client {
namespace {

grpc::Status LimitError() {
  google::rpc::Status rpc;
  rpc.set_code(9);
  rpc.set_message("Binance rejected the borrow");
  google::rpc::ErrorInfo info;
  info.set_reason("BORROW_LIMIT_EXCEEDED");
  info.set_domain("loan-gateway");
  (*info.mutable_metadata())["max_amount"] = "50000";
  rpc.add_details()->PackFrom(info);
  google::rpc::PreconditionFailure pre;
  pre.add_violations()->set_description(
      "requested 60000 USDT exceeds the maximum allowed 50000");
  rpc.add_details()->PackFrom(pre);
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, rpc.message(),
                      rpc.SerializeAsString());
}

TEST(DecodeErrorTest, ReadsEveryDetail) {
  ErrorReport r = DecodeError(LimitError());
  EXPECT_EQ(r.reason, "BORROW_LIMIT_EXCEEDED");
  EXPECT_EQ(r.metadata.at("max_amount"), "50000");
  ASSERT_EQ(r.preconditions.size(), 1u);
  EXPECT_EQ(ExitCodeFor(r), 4);
  EXPECT_NE(FormatHuman(r).find("max_amount: 50000"), std::string::npos);
  EXPECT_NE(FormatJson(r).find("\"reason\":\"BORROW_LIMIT_EXCEEDED\""),
            std::string::npos);
}

TEST(ExitCodeForTest, OneCodePerClass) {
  ErrorReport r;
  r.code = grpc::StatusCode::UNKNOWN;
  EXPECT_EQ(ExitCodeFor(r), 5);
  r.code = grpc::StatusCode::UNAVAILABLE;
  EXPECT_EQ(ExitCodeFor(r), 6);
  r.code = grpc::StatusCode::INVALID_ARGUMENT;
  EXPECT_EQ(ExitCodeFor(r), 3);
}

TEST(DecodeErrorTest, SurvivesMissingDetails) {
  ErrorReport r =
      DecodeError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(r.message, "down");
  EXPECT_TRUE(r.reason.empty());
}

}  // namespace
}  // namespace loan_gateway::client
