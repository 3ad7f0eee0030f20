// Repay through the same money-safety stages as Borrow, against the fake:
// min() semantics, Binance's refusals, an unknown outcome settled from
// Binance's REPAY records, idempotency, and the policy.
#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::InstitutionalLoan;
using institutional_loan::v1::RepayRequest;
using institutional_loan::v1::RepayResponse;

RepayRequest MakeRepay(int64_t group, const std::string& amount,
                       const std::string& request_id = "") {
  RepayRequest r;
  r.set_group_id(group);
  r.set_asset(institutional_loan::v1::ASSET_USDT);
  r.set_amount(amount);
  r.set_request_id(request_id);
  return r;
}

grpc::Status Repay(const std::shared_ptr<grpc::Channel>& channel,
                   const RepayRequest& request, RepayResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(15));
  return InstitutionalLoan::NewStub(channel)->Repay(&context, request,
                                                    response);
}

constexpr char kPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "Repay", "GetBorrow" ]
    group_ids: [ 1001, 1002 ]
    assets: [ ASSET_USDT ]
  }
  callers {
    identity: "spiffe://lg/ns/desk/sa/borrower"
    methods: [ "Borrow" ]
    group_ids: [ 1001 ]
    assets: [ ASSET_USDT ]
  }
)pb";

TEST(RepayTest, RepaysWhatIsOwedAtMostAndSaysWhatWasRepaid) {
  GatewayEnv env({.policy = kPolicy});
  BorrowResponse borrowed;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "100"), &borrowed).ok());
  RepayResponse repaid;
  grpc::Status status = Repay(env.channel(), MakeRepay(1001, "30"), &repaid);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(repaid.requested_amount(), "30");
  EXPECT_TRUE(absl::StartsWith(repaid.repaid_amount(), "30"));
  EXPECT_FALSE(repaid.transaction_id().empty());
  // More than is owed: Binance repays min(available, asked) = the 70 left.
  const std::string id = "9a1f6c2e-2b7d-4c8e-9f10-112233445566";
  ASSERT_TRUE(Repay(env.channel(), MakeRepay(1001, "500", id), &repaid).ok());
  EXPECT_EQ(repaid.requested_amount(), "500");
  EXPECT_TRUE(absl::StartsWith(repaid.repaid_amount(), "70"))
      << repaid.repaid_amount();
  // A repeat of the request_id: the same answer, no second repay.
  RepayResponse again;
  ASSERT_TRUE(Repay(env.channel(), MakeRepay(1001, "500", id), &again).ok());
  EXPECT_EQ(again.transaction_id(), repaid.transaction_id());
  EXPECT_EQ(again.repaid_amount(), repaid.repaid_amount());
  // Nothing owed any more: Binance's -27011.
  grpc::Status none = Repay(env.channel(), MakeRepay(1001, "1"), &repaid);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << none.error_message();
  EXPECT_EQ(ReasonAndOutcome(none).first, "NO_LIABILITY");
  EXPECT_EQ(env.State().received_borrow, 1);

  // GetBorrow shows a repay as one, with what was repaid.
  institutional_loan::v1::GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(id, &record).ok());
  EXPECT_EQ(record.kind(), institutional_loan::v1::OPERATION_KIND_REPAY);
  EXPECT_EQ(record.amount(), "500");
  EXPECT_TRUE(absl::StartsWith(record.result_amount(), "70"));
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "\"event\":\"repay\""));
  // Its answer is on the audit trail as a Repay, not a Borrow.
  EXPECT_TRUE(absl::StrContains(
      env.audit_log(), absl::StrCat("\"kind\":\"CALL_ANSWERED\",\"caller\":\"",
                                    kTestCaller, "\",\"method\":\"Repay\"")))
      << env.audit_log();

  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &borrowed).ok());
  CommandResult cli = RunCommand(env.Loanctl(
      {"repay", "--group", "1001", "--asset", "USDT", "--amount", "8"}));
  env.ScanAlso(cli.out + cli.err);
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_TRUE(absl::StrContains(cli.out, "repaid 5")) << cli.out;
  EXPECT_TRUE(absl::StrContains(cli.out, "(asked 8)")) << cli.out;
}

// A 5XX after Binance executed the repay: UNKNOWN, never resent; the
// reconciler finds the NORMAL_REPAY record and settles it with its amount.
// One that did not execute is settled as not executed.
TEST(RepayTest, AnUnknownRepayIsSettledFromBinancesRepayRecords) {
  GatewayEnv env({.gateway_args = {"--reconcile_interval=200ms",
                                   "--reconcile_settle_after=2s"},
                  .policy = kPolicy});
  BorrowResponse borrowed;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "40"), &borrowed).ok());
  env.InjectFault(R"({"endpoint":"repay","status":500,"execute":true})");
  const std::string id = "1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516";
  RepayResponse repaid;
  grpc::Status unknown =
      Repay(env.channel(), MakeRepay(1001, "100", id), &repaid);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNKNOWN)
      << unknown.error_message();
  EXPECT_EQ(ReasonAndOutcome(unknown).first, "BORROW_OUTCOME_UNKNOWN");
  institutional_loan::v1::GetBorrowResponse record =
      env.AwaitSettled(id, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
  EXPECT_EQ(record.resolution(),
            institutional_loan::v1::BORROW_RESOLUTION_RECONCILED);
  EXPECT_TRUE(absl::StartsWith(record.result_amount(), "40"))
      << record.result_amount();
  EXPECT_EQ(env.State().repays.size(), 1u) << "repaid once, never resent";
  EXPECT_EQ(record.transaction_id(), env.State().repays[0].tran_id);

  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "10"), &borrowed).ok());
  env.InjectFault(R"({"endpoint":"repay","status":503,"execute":false})");
  const std::string lost = "2c3d4e5f-6071-4829-8b0c-d2e3f4051627";
  EXPECT_EQ(
      Repay(env.channel(), MakeRepay(1001, "5", lost), &repaid).error_code(),
      grpc::StatusCode::UNKNOWN);
  record = env.AwaitSettled(lost, absl::Now() + absl::Seconds(10));
  EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_REJECTED);
  EXPECT_EQ(env.State().repays.size(), 1u);
}

// Nothing to repay with: Binance's -27015, nothing repaid. A dry run checks
// and sends nothing.
TEST(RepayTest, InsufficientBalanceAndADryRun) {
  GatewayEnv env({.policy = kPolicy});
  BorrowResponse borrowed;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "50"), &borrowed).ok());
  RepayRequest dry = MakeRepay(1001, "20");
  dry.set_validate_only(true);
  RepayResponse repaid;
  ASSERT_TRUE(Repay(env.channel(), dry, &repaid).ok());
  EXPECT_EQ(repaid.status(), institutional_loan::v1::BORROW_STATUS_VALIDATED);
  EXPECT_EQ(repaid.requested_amount(), "20");
  EXPECT_TRUE(repaid.repaid_amount().empty());
  EXPECT_TRUE(env.State().repays.empty()) << "a dry run sends nothing";

  env.FakeRequest("/fake/config", R"({"available":["1001:USDT=0"]})");
  grpc::Status poor = Repay(env.channel(), MakeRepay(1001, "20"), &repaid);
  EXPECT_EQ(poor.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << poor.error_message();
  EXPECT_EQ(ReasonAndOutcome(poor).first, "INSUFFICIENT_BALANCE");
  EXPECT_TRUE(env.State().repays.empty());
}

TEST(RepayTest, ThePolicyDecidesWhoMayRepay) {
  GatewayEnv env({.policy = kPolicy});
  const CertFiles borrower = env.pki().Issue(
      "borrower", {.subject_alt_names = "URI:spiffe://lg/ns/desk/sa/borrower"});
  RepayResponse repaid;
  grpc::Status refused =
      Repay(env.ChannelAs(&borrower), MakeRepay(1001, "1"), &repaid);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonAndOutcome(refused).first, "METHOD_NOT_ALLOWED");
  EXPECT_EQ(
      ReasonAndOutcome(Repay(env.channel(), MakeRepay(2001, "1"), &repaid))
          .first,
      "RISK_UNIT_NOT_ALLOWED");
  RepayRequest bad = MakeRepay(1001, "-1");
  EXPECT_EQ(Repay(env.channel(), bad, &repaid).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(env.State().repays.empty());
}

}  // namespace
}  // namespace loan_gateway::testing
