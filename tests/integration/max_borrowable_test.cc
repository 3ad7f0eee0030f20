// GetMaxBorrowable against the fake, and Borrow's pre-flight: a borrow above
// a figure Binance gave moments ago is refused without a request to Binance.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::GetMaxBorrowableRequest;
using institutional_loan::v1::GetMaxBorrowableResponse;
using institutional_loan::v1::InstitutionalLoan;

grpc::Status GetMax(
    GatewayEnv& env, int64_t group, GetMaxBorrowableResponse* response,
    institutional_loan::v1::Asset asset = institutional_loan::v1::ASSET_USDT) {
  GetMaxBorrowableRequest request;
  request.set_group_id(group);
  request.set_asset(asset);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return InstitutionalLoan::NewStub(env.channel())
      ->GetMaxBorrowable(&context, request, response);
}

std::string Metadata(const grpc::Status& status, const std::string& key) {
  google::rpc::Status rpc;
  rpc.ParseFromString(status.error_details());
  for (const auto& any : rpc.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.metadata().contains(key)) {
      return info.metadata().at(key);
    }
  }
  return "";
}

constexpr char kPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "GetMaxBorrowable", "GetRiskUnit" ]
    group_ids: [ 1001, 1002, 4242 ]
    assets: [ ASSET_USDT ]
  }
)pb";

TEST(MaxBorrowableTest, ReadsBinancesFigureAndThePreFlightSavesTheWeight) {
  GatewayEnv env({.policy = kPolicy});
  GetMaxBorrowableResponse max;
  grpc::Status read = GetMax(env, 1002, &max);
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(max.group_id(), 1002);
  EXPECT_TRUE(absl::StartsWith(max.max_borrowable_amount(), "100"))
      << max.max_borrowable_amount();
  EXPECT_TRUE(max.has_read_time());

  // Above it, within --preflight_max_age (1s): refused here, nothing sent.
  BorrowResponse response;
  grpc::Status predicted =
      env.Borrow(MakeBorrow(1002, "100.00000001"), &response);
  EXPECT_EQ(predicted.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonAndOutcome(predicted).first, "BORROW_LIMIT_EXCEEDED");
  EXPECT_EQ(Metadata(predicted, "predicted"), "true");
  EXPECT_EQ(Metadata(predicted, "max_amount"), max.max_borrowable_amount());
  EXPECT_EQ(env.State().received_borrow, 0) << "no weight spent";
  // At it: sent, and borrowed.
  ASSERT_TRUE(env.Borrow(MakeBorrow(1002, "60"), &response).ok());
  EXPECT_EQ(env.State().received_borrow, 1);

  // A stale figure never refuses: Binance decides (its -27009), and that
  // answer's figure then predicts the repeat.
  absl::SleepFor(absl::Milliseconds(1100));
  grpc::Status real = env.Borrow(MakeBorrow(1002, "50"), &response);
  EXPECT_EQ(ReasonAndOutcome(real).first, "BORROW_LIMIT_EXCEEDED");
  EXPECT_EQ(Metadata(real, "predicted"), "");
  EXPECT_EQ(env.State().received_borrow, 2);
  grpc::Status repeat = env.Borrow(MakeBorrow(1002, "50"), &response);
  EXPECT_EQ(Metadata(repeat, "predicted"), "true");
  EXPECT_EQ(env.State().received_borrow, 2);
}

TEST(MaxBorrowableTest, RefusalsAndFaults) {
  GatewayEnv env({.policy = kPolicy});
  GetMaxBorrowableResponse max;
  // Outside the caller's scope, and an invalid request: nothing read.
  EXPECT_EQ(ReasonAndOutcome(GetMax(env, 1003, &max)).first,
            "RISK_UNIT_NOT_ALLOWED");
  EXPECT_EQ(ReasonAndOutcome(
                GetMax(env, 1001, &max, institutional_loan::v1::ASSET_USDC))
                .first,
            "ASSET_NOT_ALLOWED");
  EXPECT_EQ(GetMax(env, 0, &max).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Binance knows no such risk unit: it says null, the gateway "".
  ASSERT_TRUE(GetMax(env, 4242, &max).ok());
  EXPECT_EQ(max.max_borrowable_amount(), "");
  // A 5XX: a read executes nothing, so UNAVAILABLE, retry.
  env.InjectFault(R"({"endpoint":"max_borrowable","status":500})");
  grpc::Status failed = GetMax(env, 1001, &max);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE)
      << failed.error_message();
  EXPECT_EQ(ReasonAndOutcome(failed).first, "UPSTREAM_UNREACHABLE");
  ASSERT_TRUE(GetMax(env, 1001, &max).ok());
  EXPECT_TRUE(absl::StartsWith(max.max_borrowable_amount(), "50000"));
  CommandResult cli =
      RunCommand(env.Loanctl({"max", "--group", "1001", "--asset", "USDT"}));
  env.ScanAlso(cli.out + cli.err);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_TRUE(absl::StrContains(cli.out, "risk unit 1001 may borrow 50000"))
      << cli.out;
}

grpc::Status GetUnit(GatewayEnv& env, int64_t group,
                     institutional_loan::v1::GetRiskUnitResponse* response) {
  institutional_loan::v1::GetRiskUnitRequest request;
  request.set_group_id(group);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return InstitutionalLoan::NewStub(env.channel())
      ->GetRiskUnit(&context, request, response);
}

// ltv-details of the fake's risk unit after a borrow: the liability is
// there, exact; other units and faults get their codes.
TEST(RiskUnitTest, TheRiskUnitAsBinanceDescribesIt) {
  // Each read is counted as 3000 of the IP's 12000 a minute: this test reads
  // more than four times.
  GatewayEnv env(
      {.gateway_args = {"--ip_weight_limit=1000000"}, .policy = kPolicy});
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1234.5"), &response).ok());
  institutional_loan::v1::GetRiskUnitResponse unit;
  grpc::Status read = GetUnit(env, 1001, &unit);
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(unit.group_id(), 1001);
  ASSERT_EQ(unit.liabilities_size(), 1);
  EXPECT_EQ(unit.liabilities(0).asset_name(), "USDT");
  EXPECT_TRUE(absl::StartsWith(unit.liabilities(0).principal(), "1234.5"))
      << unit.liabilities(0).principal();
  EXPECT_TRUE(absl::StartsWith(unit.total_liability(), "1234.5"));
  EXPECT_FALSE(unit.ltv().empty());
  EXPECT_FALSE(unit.max_allowed_borrow_limit().empty());
  EXPECT_TRUE(unit.has_read_time());
  CommandResult cli = RunCommand(env.Loanctl({"unit", "--group", "1001"}));
  env.ScanAlso(cli.out + cli.err);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_TRUE(absl::StrContains(cli.out, "owes 1234.5")) << cli.out;

  EXPECT_EQ(ReasonAndOutcome(GetUnit(env, 1003, &unit)).first,
            "RISK_UNIT_NOT_ALLOWED");
  grpc::Status unlisted = GetUnit(env, 4242, &unit);
  EXPECT_EQ(unlisted.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReasonAndOutcome(unlisted).first, "RISK_UNIT_NOT_FOUND");
  env.InjectFault(R"({"endpoint":"ltv_details","status":503})");
  EXPECT_EQ(GetUnit(env, 1001, &unit).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(env.State().received_borrow, 1);
}

// One connection to Binance, busy with a slow borrow, and a second borrow
// waiting for it: a read asked after that borrow still goes first (reads
// keep the clock and readiness fresh behind any queue of borrows).
TEST(MaxBorrowableTest, AReadOvertakesTheBorrowsWaitingForAConnection) {
  GatewayEnv env(
      {.gateway_args = {"--upstream_max_connections=1"}, .policy = kPolicy});
  env.InjectFault(R"({"delay_ms":1000,"count":2})");  // Both borrows.
  std::atomic<int> finished{0};
  int borrow_finished_as = 0;
  std::thread first([&] {
    BorrowResponse response;
    env.Borrow(MakeBorrow(1001, "1"), &response);
  });
  for (int i = 0; i < 100 && env.State().received_borrow == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(env.State().received_borrow, 1);
  std::thread second([&] {
    BorrowResponse response;
    env.Borrow(MakeBorrow(1002, "1"), &response);
    borrow_finished_as = ++finished;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  GetMaxBorrowableResponse max;
  grpc::Status read = GetMax(env, 1001, &max);
  const int read_finished_as = ++finished;
  first.join();
  second.join();
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(read_finished_as, 1) << "the read waited behind the borrow";
  EXPECT_EQ(borrow_finished_as, 2);
}

}  // namespace
}  // namespace loan_gateway::testing
