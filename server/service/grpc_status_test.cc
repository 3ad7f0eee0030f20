#include "service/grpc_status.h"

#include "errors/error_details.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(ToGrpcStatusTest, CarriesCodeMessageAndEveryDetail) {
  absl::Status status =
      errors::MakeError(absl::StatusCode::kResourceExhausted, "slow down",
                        "UPSTREAM_RATE_LIMITED", {{"binance_code", "-1003"}});
  errors::AttachRetryInfo(status, absl::Milliseconds(1500));
  grpc::Status g = ToGrpcStatus(status);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(g.error_message(), "slow down");
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  EXPECT_EQ(rpc.code(), 8);
  ASSERT_EQ(rpc.details_size(), 2);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&info)) << "ErrorInfo comes first";
  EXPECT_EQ(info.reason(), "UPSTREAM_RATE_LIMITED");
  EXPECT_EQ(info.metadata().at("binance_code"), "-1003");
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(rpc.details(1).UnpackTo(&retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace loan_gateway
