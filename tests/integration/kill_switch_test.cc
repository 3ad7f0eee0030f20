// The kill switch (GatewayAdmin and --halt_file) and dry runs
// (BorrowRequest.validate_only), against the real binary and the fake.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"
#include "loan_gateway/admin/v1/gateway_admin.grpc.pb.h"

namespace loan_gateway::testing {
namespace {

using admin::v1::BorrowingState;
using admin::v1::GatewayAdmin;
using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

constexpr char kOperator[] = "spiffe://lg/ns/ops/sa/oncall";

// kTestCaller borrows (within a cap for the dry-run test); the operator may
// only use the kill switch.
constexpr char kPolicyWithAdmin[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "GetBorrow" ]
    group_ids: [ 1001, 1002, 1003, 2001, 2002, 2003, 2004, 3001 ]
    assets: [ ASSET_USDT, ASSET_USDC ]
    caps {
      asset: ASSET_USDC
      window { seconds: 3600 }
      max_amount: "100"
    }
  }
  callers { identity: "spiffe://lg/ns/ops/sa/oncall" admin: true }
)pb";

class KillSwitchTest : public ::testing::Test {
 protected:
  KillSwitchTest()
      : env_({.fake_args = {"--uid-weight-limit", "1000000000"},
              .gateway_args = {"--uid_weight_limit=1000000000"},
              .policy = kPolicyWithAdmin}),
        operator_(env_.pki().Issue(
            "oncall", {.subject_alt_names = absl::StrCat("URI:", kOperator)})) {
  }

  grpc::Status Admin(const std::string& action, BorrowingState* state,
                     const CertFiles* as = nullptr) {
    auto stub = GatewayAdmin::NewStub(env_.ChannelAs(as ? as : &operator_));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Status status;
    if (action == "halt") {
      admin::v1::HaltBorrowingRequest request;
      request.set_reason("incident 4711");
      admin::v1::HaltBorrowingResponse response;
      status = stub->HaltBorrowing(&context, request, &response);
      *state = response.state();
    } else if (action == "resume") {
      admin::v1::ResumeBorrowingResponse response;
      status = stub->ResumeBorrowing(
          &context, admin::v1::ResumeBorrowingRequest(), &response);
      *state = response.state();
    } else {
      admin::v1::GetBorrowingStateResponse response;
      status = stub->GetBorrowingState(
          &context, admin::v1::GetBorrowingStateRequest(), &response);
      *state = response.state();
    }
    return status;
  }

  std::string HaltFile() const { return env_.dir() + "/borrowing-halted"; }

  GatewayEnv env_;
  const CertFiles operator_;
};

TEST_F(KillSwitchTest, OnlyAnAdminMayHalt) {
  BorrowingState state;
  grpc::Status refused = Admin("halt", &state, &env_.client_cert());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonAndOutcome(refused).first, "METHOD_NOT_ALLOWED");
  ASSERT_TRUE(Admin("state", &state).ok());
  EXPECT_FALSE(state.halted());
  BorrowResponse response;
  EXPECT_TRUE(env_.Borrow(MakeBorrow(1001, "1"), &response).ok());
}

// Borrows run on 8 risk units, each answered 150 ms after Binance executed
// it; the halt lands among them. Calls in flight finish with their outcome,
// nothing more reaches Binance once the halt has answered, every later call
// is refused, and the ledger holds exactly the borrows that succeeded.
TEST_F(KillSwitchTest, UnderLoadNothingIsSentAfterTheHalt) {
  env_.InjectFault(R"({"answer_delay_ms":150,"probability":1.0})");
  std::atomic<bool> halted{false}, stop{false};
  std::atomic<int> succeeded{0}, refused_after_halt{0}, other_after_halt{0};
  std::vector<std::thread> callers;
  const int64_t groups[] = {1001, 1002, 1003, 2001, 2002, 2003, 2004, 3001};
  for (int64_t group : groups) {
    callers.emplace_back([&, group] {
      while (!stop) {
        const bool after = halted;
        BorrowResponse response;
        grpc::Status status = env_.Borrow(MakeBorrow(group, "1"), &response);
        if (status.ok()) {
          ++succeeded;
          if (after) ++other_after_halt;
        } else if (after) {
          const bool halt_refusal =
              status.error_code() == grpc::StatusCode::UNAVAILABLE &&
              ReasonAndOutcome(status).first == "BORROWING_HALTED";
          ++(halt_refusal ? refused_after_halt : other_after_halt);
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));
  BorrowingState state;
  ASSERT_TRUE(Admin("halt", &state).ok());
  halted = true;
  const int64_t received_at_halt = env_.State().received_borrow;
  EXPECT_TRUE(state.halted());
  EXPECT_EQ(state.halted_by(), kOperator);
  EXPECT_TRUE(state.persisted());
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  for (std::thread& t : callers) t.join();

  const FakeState fake = env_.State();
  EXPECT_LE(fake.received_borrow, received_at_halt + state.borrows_in_flight())
      << "only requests already handed to Binance arrived after the halt";
  EXPECT_GT(refused_after_halt, 0);
  EXPECT_EQ(other_after_halt, 0) << "every call begun after the halt refused";
  EXPECT_EQ(static_cast<int>(fake.borrows.size()), succeeded.load())
      << "every borrow in flight finished and was answered";
  EXPECT_TRUE(std::filesystem::exists(HaltFile()));

  // Resuming is the same switch.
  ASSERT_TRUE(Admin("resume", &state).ok());
  EXPECT_FALSE(state.halted());
  EXPECT_FALSE(std::filesystem::exists(HaltFile()));
  BorrowResponse response;
  EXPECT_TRUE(env_.Borrow(MakeBorrow(1001, "1"), &response).ok());
}

TEST_F(KillSwitchTest, AHaltOutlivesARestartAndTheFileAloneHalts) {
  BorrowingState state;
  ASSERT_TRUE(Admin("halt", &state).ok());
  env_.RestartGateway();
  BorrowResponse response;
  grpc::Status status = env_.Borrow(MakeBorrow(1001, "1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonAndOutcome(status).first, "BORROWING_HALTED");
  EXPECT_TRUE(absl::StrContains(status.error_message(), "incident 4711"))
      << status.error_message();
  ASSERT_TRUE(Admin("state", &state).ok());
  EXPECT_TRUE(state.halted());
  EXPECT_EQ(state.halted_by(), kOperator);

  // An operator without a certificate: remove the file, put it back.
  std::filesystem::remove(HaltFile());
  EXPECT_TRUE(env_.Borrow(MakeBorrow(1001, "1"), &response).ok());
  std::ofstream(HaltFile()).close();
  status = env_.Borrow(MakeBorrow(1001, "1"), &response);
  EXPECT_EQ(ReasonAndOutcome(status).first, "BORROWING_HALTED");
  EXPECT_EQ(env_.State().borrows.size(), 1u);
}

// validate_only answers what a real call would, and writes nothing: no
// journal record (GetBorrow finds none), no request at Binance.
TEST_F(KillSwitchTest, ADryRunChecksEverythingAndSendsNothing) {
  BorrowResponse response;
  ASSERT_TRUE(
      env_.Borrow(MakeBorrow(1001, "60", institutional_loan::v1::ASSET_USDC),
                  &response)
          .ok());
  BorrowRequest request = MakeBorrow(1001, "25");
  request.set_request_id("6f1c1f9e-0a43-4f7e-9b1a-2c8d9e0f1a2b");
  request.set_validate_only(true);
  ASSERT_TRUE(env_.Borrow(request, &response).ok());
  EXPECT_EQ(response.status(), institutional_loan::v1::BORROW_STATUS_VALIDATED);
  EXPECT_TRUE(response.transaction_id().empty());
  EXPECT_EQ(response.request_id(), request.request_id());
  EXPECT_EQ(response.amount(), "25");

  // What a real call would get, without sending it: a risk unit outside the
  // policy, and a rolling cap (100 USDC an hour) that 50 more would exceed.
  BorrowRequest outside = MakeBorrow(9999, "1");
  outside.set_validate_only(true);
  EXPECT_EQ(ReasonAndOutcome(env_.Borrow(outside, &response)).first,
            "RISK_UNIT_NOT_ALLOWED");
  BorrowRequest over =
      MakeBorrow(1001, "50", institutional_loan::v1::ASSET_USDC);
  over.set_validate_only(true);
  grpc::Status capped = env_.Borrow(over, &response);
  EXPECT_EQ(capped.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReasonAndOutcome(capped).first, "CALLER_CAP_REACHED");
  BorrowRequest invalid = MakeBorrow(1001, "1.123456789");
  invalid.set_validate_only(true);
  EXPECT_EQ(env_.Borrow(invalid, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(env_.State().received_borrow, 1) << "only the first, real one";
  EXPECT_EQ(env_.State().borrows.size(), 1u);
  institutional_loan::v1::GetBorrowResponse record;
  EXPECT_EQ(env_.GetBorrow(request.request_id(), &record).error_code(),
            grpc::StatusCode::NOT_FOUND)
      << "a dry run journals nothing";

  // Halted, the dry run says so too.
  BorrowingState state;
  ASSERT_TRUE(Admin("halt", &state).ok());
  EXPECT_EQ(ReasonAndOutcome(env_.Borrow(request, &response)).first,
            "BORROWING_HALTED");
  ASSERT_TRUE(Admin("resume", &state).ok());

  // The same request_id, for real now: borrowed once.
  request.set_validate_only(false);
  ASSERT_TRUE(env_.Borrow(request, &response).ok());
  EXPECT_EQ(response.status(), institutional_loan::v1::BORROW_STATUS_SUCCEEDED);
  EXPECT_EQ(env_.State().borrows.size(), 2u);
}

}  // namespace
}  // namespace loan_gateway::testing
