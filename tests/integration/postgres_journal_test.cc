// The gateway with its journal in PostgreSQL (--journal_url, issue 16): the
// real binary, the fake, and a real PostgreSQL server started by the test.
#include <grpcpp/grpcpp.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"
#include "loan_gateway/admin/v1/gateway_admin.grpc.pb.h"
#include "throwaway_postgres_fixture.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

constexpr char kPassword[] = "throwaway-test-password";
constexpr char kOperator[] = "spiffe://lg/ns/ops/sa/oncall";

// kTestCaller borrows; the operator may use the kill switch.
std::string PolicyWithOperator() {
  return absl::StrCat(kAllowAllPolicy, "callers { identity: \"", kOperator,
                      "\" admin: true }\n");
}

// Halts ("halt") or resumes ("resume") borrowing through `env`'s gateway.
grpc::Status Admin(GatewayEnv& env, const std::string& action) {
  const CertFiles operator_cert = env.pki().Issue(
      "oncall", {.subject_alt_names = absl::StrCat("URI:", kOperator)});
  auto stub = admin::v1::GatewayAdmin::NewStub(env.ChannelAs(&operator_cert));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  if (action == "halt") {
    admin::v1::HaltBorrowingRequest request;
    request.set_reason("incident 4711");
    admin::v1::HaltBorrowingResponse response;
    return stub->HaltBorrowing(&context, request, &response);
  }
  admin::v1::ResumeBorrowingResponse response;
  return stub->ResumeBorrowing(&context, admin::v1::ResumeBorrowingRequest(),
                               &response);
}

// The state and transaction a second connection reads for `request_id`.
std::pair<std::string, std::string> StoredOutcome(const std::string& url,
                                                  const std::string& id) {
  PGconn* conn = PQconnectdb(url.c_str());
  const char* params[] = {id.c_str()};
  PGresult* r = PQexecParams(
      conn,
      "SELECT state, COALESCE(transaction_id, '') FROM borrows WHERE "
      "request_id = $1",
      1, nullptr, params, nullptr, nullptr, 0);
  std::pair<std::string, std::string> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
    out = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)};
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

// Rows of the audit table whose line holds `text`.
int AuditRowsWith(const std::string& url, const std::string& text) {
  PGconn* conn = PQconnectdb(url.c_str());
  const std::string pattern = "%" + text + "%";
  const char* params[] = {pattern.c_str()};
  PGresult* r =
      PQexecParams(conn, "SELECT COUNT(*) FROM audit_log WHERE line LIKE $1", 1,
                   nullptr, params, nullptr, nullptr, 0);
  const int rows = PQresultStatus(r) == PGRES_TUPLES_OK
                       ? std::atoi(PQgetvalue(r, 0, 0))
                       : -1;
  PQclear(r);
  PQfinish(conn);
  return rows;
}

class PostgresJournalTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
  void SetUp() override {
    WithThrowawayPostgres::SetUp();
    if (HasFatalFailure()) return;
    // The password comes from a file, as from a mounted Secret; the URL
    // holds none (the gateway refuses one that does).
    password_file_ =
        absl::StrCat(::testing::TempDir(), "/journal-password-", getpid());
    std::ofstream(password_file_) << kPassword << "\n";
    env_ = StartGateway();
  }
  // A gateway (with a fake of its own) whose journal is the test's database.
  // Binance's transaction ids are unique across its records: a second
  // gateway's fake starts its ids elsewhere (`first_tran_id`).
  std::unique_ptr<GatewayEnv> StartGateway(
      const std::string& first_tran_id = "12317283617") {
    auto env = std::make_unique<GatewayEnv>(EnvOptions{
        .fake_args = {"--first-tran-id", first_tran_id},
        .gateway_args = {"--journal_url=" +
                             absl::StrReplaceAll(
                                 pg_->url(),
                                 {{":" + std::string(kPassword), ""}}),
                         "--journal_password_file=" + password_file_},
        .policy = PolicyWithOperator()});
    env->ScanFor(kPassword);
    return env;
  }

  // A second gateway of the same credit account, on the same Binance and
  // the same database.
  std::unique_ptr<GatewayEnv> StartGatewaySharing(
      const GatewayEnv& other, const std::string& policy = PolicyWithOperator(),
      const std::vector<std::string>& extra_args = {}) {
    std::vector<std::string> args = {
        "--journal_url=" +
            absl::StrReplaceAll(pg_->url(),
                                {{":" + std::string(kPassword), ""}}),
        "--journal_password_file=" + password_file_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto env = std::make_unique<GatewayEnv>(EnvOptions{
        .gateway_args = args, .policy = policy, .share_fake_of = &other});
    env->ScanFor(kPassword);
    return env;
  }

  // `loan-gateway --verify_audit postgres://...`, the password as libpq
  // takes it from the environment.
  CommandResult VerifyAuditTable() {
    return RunCommand({"/usr/bin/env", absl::StrCat("PGPASSWORD=", kPassword),
                       GATEWAY_BINARY, "--verify_audit",
                       absl::StrReplaceAll(
                           pg_->url(), {{":" + std::string(kPassword), ""}})});
  }

  std::string password_file_;
  std::unique_ptr<GatewayEnv> env_;
};

TEST_F(PostgresJournalTest, BorrowsAreJournaledInTheDatabase) {
  BorrowRequest request = MakeBorrow(1001, "250.5");
  request.set_request_id("6f1c2a9e-0d4b-4e8a-9c3f-1a2b3c4d5e6f");
  BorrowResponse response;
  grpc::Status status = env_->Borrow(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(
      StoredOutcome(pg_->url(), request.request_id()),
      std::make_pair(std::string("SUCCEEDED"), response.transaction_id()));
  // A repeat is answered from the database, not sent again.
  BorrowResponse again;
  ASSERT_TRUE(env_->Borrow(request, &again).ok());
  EXPECT_EQ(again.transaction_id(), response.transaction_id());
  EXPECT_EQ(env_->State().received_borrow, 1);
  // Binance's -27009 keeps its contract.
  BorrowResponse refused;
  grpc::Status limit = env_->Borrow(MakeBorrow(1002, "100.00000001"), &refused);
  EXPECT_EQ(limit.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ReasonAndOutcome(limit).first, "BORROW_LIMIT_EXCEEDED");
  // A restart reads the same database.
  env_->RestartGateway();
  BorrowResponse after;
  ASSERT_TRUE(env_->Borrow(request, &after).ok());
  EXPECT_EQ(after.transaction_id(), response.transaction_id());
  EXPECT_EQ(env_->State().received_borrow, 2) << "the borrow and the -27009";
  // The audit trail is in the database too (no volume needed): two chains,
  // one per process, each intact.
  EXPECT_FALSE(std::filesystem::exists(env_->audit_log_path()));
  EXPECT_GE(AuditRowsWith(pg_->url(), "REQUEST_SIGNED"), 2);
  EXPECT_GE(AuditRowsWith(pg_->url(), request.request_id()), 3);
  CommandResult verified = VerifyAuditTable();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_TRUE(absl::StrContains(verified.out, "2 chains intact"))
      << verified.out;
  env_->ScanAlso(verified.out + verified.err);
}

// The database crashed and came back: while it is down nothing is signed
// (JOURNAL_UNAVAILABLE); once it is back the gateway goes on by itself.
TEST_F(PostgresJournalTest, ADatabaseOutageRefusesUnsignedAndHealsItself) {
  BorrowResponse response;
  ASSERT_TRUE(env_->Borrow(MakeBorrow(1001, "5"), &response).ok());
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  grpc::Status refused = env_->Borrow(MakeBorrow(1001, "6"), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  EXPECT_EQ(ReasonAndOutcome(refused).first, "JOURNAL_UNAVAILABLE")
      << refused.error_message();
  EXPECT_EQ(env_->State().received_borrow, 1) << "nothing signed or sent";
  ASSERT_TRUE(pg_->Restart().ok());
  BorrowRequest next = MakeBorrow(1001, "7");
  grpc::Status back = env_->Borrow(next, &response);
  ASSERT_TRUE(back.ok()) << back.error_message();
  EXPECT_EQ(StoredOutcome(pg_->url(), response.request_id()).first,
            "SUCCEEDED");
  EXPECT_EQ(env_->State().received_borrow, 2);
  // The audit log went on after the outage from where its chain ended.
  EXPECT_TRUE(absl::StrContains(env_->GatewayLog(), "audit_log_recovered"));
  CommandResult verified = VerifyAuditTable();
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

// Two gateways on one database and one Binance, both writing: a repeat on
// the second of a request_id the first has at Binance waits for that call's
// outcome (never a second borrow), and a borrow of the same risk unit on
// the second waits for the first's to be journaled (never two operations of
// one risk unit at Binance at once). When the first dies, the second goes on.
TEST_F(PostgresJournalTest, TwoGatewaysBorrowSideBySide) {
  // Room for the three borrows sent below and no more: waiting for the
  // other gateway's turn must not spend the account's weight.
  const std::vector<std::string> weight = {"--uid_weight_limit=9000"};
  std::unique_ptr<GatewayEnv> gateway =
      StartGatewaySharing(*env_, PolicyWithOperator(), weight);
  std::unique_ptr<GatewayEnv> second =
      StartGatewaySharing(*env_, PolicyWithOperator(), weight);
  env_->InjectFault(R"({"answer_delay_ms":1500})");
  BorrowRequest first = MakeBorrow(1001, "5");
  first.set_request_id("0b6f1c2a-9e0d-4b4e-8a9c-3f1a2b3c4d5e");
  BorrowResponse response;
  grpc::Status first_status;
  std::thread slow([&] { first_status = gateway->Borrow(first, &response); });
  absl::SleepFor(absl::Milliseconds(500));  // It is at Binance now.
  BorrowResponse same_unit;
  grpc::Status same_unit_status;
  std::thread next([&] {
    same_unit_status = second->Borrow(MakeBorrow(1001, "6"), &same_unit);
  });
  BorrowResponse repeated;
  grpc::Status repeat_status = second->Borrow(first, &repeated);
  slow.join();
  next.join();
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  ASSERT_TRUE(repeat_status.ok()) << repeat_status.error_message();
  EXPECT_EQ(repeated.transaction_id(), response.transaction_id())
      << "the repeat got the first call's answer";
  ASSERT_TRUE(same_unit_status.ok()) << same_unit_status.error_message();
  const FakeState state = env_->State();
  EXPECT_EQ(state.received_borrow, 2) << "the borrow and the next, no repeat";
  EXPECT_EQ(state.overlapping_operations, 0);
  EXPECT_TRUE(
      absl::StrContains(second->GatewayLog(), "risk_unit_busy_elsewhere"));
  for (GatewayEnv* env : {gateway.get(), second.get()}) {
    CommandResult health = RunCommand(env->Loanctl({"health"}));
    EXPECT_TRUE(absl::StrContains(health.out, "SERVING") &&
                !absl::StrContains(health.out, "NOT_SERVING"))
        << health.out;
    EXPECT_TRUE(absl::StrContains(env->ScrapeMetrics(),
                                  "\nloan_gateway_journal_writer 1\n"));
  }

  gateway->KillGateway(SIGKILL);
  BorrowResponse after;
  grpc::Status goes_on = second->Borrow(MakeBorrow(1001, "7"), &after);
  ASSERT_TRUE(goes_on.ok()) << goes_on.error_message();
  EXPECT_EQ(StoredOutcome(pg_->url(), after.request_id()).first, "SUCCEEDED");
}

// A caller's rolling cap is the cluster's, not a replica's: 20 calls of 100
// at once, spread over two gateways, against a cap of 250 an hour: exactly
// two fit, whatever the interleaving.
TEST_F(PostgresJournalTest, ARollingCapHoldsAcrossGateways) {
  constexpr char kCappedPolicy[] = R"pb(
    callers {
      identity: "spiffe://lg/ns/treasury/sa/rebalancer"
      methods: [ "Borrow", "GetBorrow" ]
      group_ids: [ 1001 ]
      assets: [ ASSET_USDT ]
      caps {
        asset: ASSET_USDT
        window { seconds: 3600 }
        max_amount: "250"
      }
    }
  )pb";
  const std::vector<std::string> weight = {"--uid_weight_limit=1000000000"};
  std::unique_ptr<GatewayEnv> first =
      StartGatewaySharing(*env_, kCappedPolicy, weight);
  std::unique_ptr<GatewayEnv> second =
      StartGatewaySharing(*env_, kCappedPolicy, weight);
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(20);
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      BorrowResponse response;
      statuses[i] = (i % 2 == 0 ? first : second)
                        ->Borrow(MakeBorrow(1001, "100"), &response);
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const grpc::Status& s : statuses) {
    if (s.ok()) {
      ++ok;
      continue;
    }
    EXPECT_EQ(ReasonAndOutcome(s).first, "CALLER_CAP_REACHED")
        << s.error_message();
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(env_->State().borrows.size(), 2u) << "the fake's ledger agrees";
}

// The credit account's UID weight is counted once for all gateways: with
// room for three borrows a minute, the fourth is refused whichever gateway
// it goes through, and nothing of it reaches Binance.
TEST_F(PostgresJournalTest, TheWeightBudgetIsSharedByTheGateways) {
  const std::vector<std::string> weight = {"--uid_weight_limit=9000"};
  std::unique_ptr<GatewayEnv> first =
      StartGatewaySharing(*env_, PolicyWithOperator(), weight);
  std::unique_ptr<GatewayEnv> second =
      StartGatewaySharing(*env_, PolicyWithOperator(), weight);
  // All in one clock minute (the count's window).
  while (absl::ToUnixSeconds(absl::Now()) % 60 > 50) {
    absl::SleepFor(absl::Seconds(1));
  }
  std::vector<grpc::StatusCode> codes;
  for (int i = 0; i < 6; ++i) {
    BorrowResponse response;
    codes.push_back(
        (i % 2 == 0 ? first : second)
            ->Borrow(MakeBorrow(1001, absl::StrCat(i + 1)), &response)
            .error_code());
  }
  EXPECT_EQ(codes,
            (std::vector<grpc::StatusCode>{
                grpc::StatusCode::OK, grpc::StatusCode::OK,
                grpc::StatusCode::OK, grpc::StatusCode::RESOURCE_EXHAUSTED,
                grpc::StatusCode::RESOURCE_EXHAUSTED,
                grpc::StatusCode::RESOURCE_EXHAUSTED}));
  EXPECT_EQ(env_->State().received_borrow, 3);
}

// The kill switch is the journal's, not a gateway's: a halt through one
// gateway stops the others, outlives the gateway it went through, and a
// lift through any gateway applies to all.
TEST_F(PostgresJournalTest, AHaltThroughOneGatewayStopsAllAndOutlivesIt) {
  std::unique_ptr<GatewayEnv> second = StartGatewaySharing(*env_);
  ASSERT_TRUE(Admin(*second, "halt").ok());
  BorrowResponse ignored;
  grpc::Status halted = env_->Borrow(MakeBorrow(1001, "5"), &ignored);
  EXPECT_EQ(ReasonAndOutcome(halted).first, "BORROWING_HALTED")
      << halted.error_message();
  EXPECT_TRUE(absl::StrContains(halted.error_message(), "incident 4711"));
  second->KillGateway(SIGKILL);
  halted = env_->Borrow(MakeBorrow(1001, "6"), &ignored);
  EXPECT_EQ(ReasonAndOutcome(halted).first, "BORROWING_HALTED")
      << "still halted after that gateway died: " << halted.error_message();
  EXPECT_EQ(env_->State().received_borrow, 0);
  ASSERT_TRUE(Admin(*env_, "resume").ok());
  grpc::Status resumed = env_->Borrow(MakeBorrow(1001, "7"), &ignored);
  EXPECT_TRUE(resumed.ok()) << resumed.error_message();
}

}  // namespace
}  // namespace loan_gateway::testing
