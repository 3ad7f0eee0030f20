#include "service/grpc_status.h"

#include <thread>
#include <vector>

#include "errors/error_details.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

// Keeps what is posted, to run it later on a thread of the test's choosing.
class RecordingExecutor : public Executor {
 public:
  void Post(std::function<void()> task) override {
    tasks.push_back(std::move(task));
  }
  std::vector<std::function<void()>> tasks;
};

// Not bound to a call: Finish is kept until one is (never, here).
class UnboundReactor : public grpc::ServerUnaryReactor {
 public:
  void OnDone() override {}
};

TEST(FinishOnTest, AnAnswerIsFinishedOnTheAnswerExecutorNotHere) {
  RecordingExecutor answers;
  UnboundReactor reactor;
  FinishOn(&answers, &reactor, absl::NotFoundError("no such borrow"));
  ASSERT_EQ(answers.tasks.size(), 1u) << "nothing finished on this thread";
  std::thread elsewhere(answers.tasks.front());
  elsewhere.join();
}

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
