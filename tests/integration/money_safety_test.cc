// Money safety through the real gateway: idempotent request_ids, the durable
// journal, reconciliation of unknown outcomes from Binance's records,
// graceful drain, and a crash test with SIGKILL at random moments.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::GetBorrowResponse;

const std::vector<std::string> kFastReconcile = {"--reconcile_interval=200ms",
                                                 "--reconcile_settle_after=2s"};

std::string Uuid(int n) {
  return absl::StrCat("00000000-0000-4000-8000-",
                      absl::Dec(n, absl::kZeroPad12));
}

BorrowRequest WithId(BorrowRequest r, const std::string& id) {
  r.set_request_id(id);
  return r;
}

// Polls GetBorrow until the borrow is settled (or the time is up).
GetBorrowResponse WaitSettled(GatewayEnv& env, const std::string& id,
                              absl::Duration limit = absl::Seconds(15)) {
  GetBorrowResponse r;
  const absl::Time end = absl::Now() + limit;
  while (absl::Now() < end) {
    grpc::Status s = env.GetBorrow(id, &r);
    if (s.ok() && r.state() != institutional_loan::v1::BORROW_STATE_UNKNOWN &&
        r.state() != institutional_loan::v1::BORROW_STATE_PENDING) {
      return r;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return r;
}

TEST(IdempotencyTest, ConcurrentRepeatsOfOneRequestIdBorrowOnce) {
  GatewayEnv env;
  env.InjectFault(
      R"({"delay_ms":700})");  // Keep the first in flight while repeats arrive.
  const BorrowRequest request = WithId(MakeBorrow(1001, "77.7"), Uuid(1));
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(8);
  std::vector<BorrowResponse> responses(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = env.Borrow(request, &responses[i]); });
  }
  for (auto& t : threads) t.join();
  FakeState state = env.State();
  ASSERT_EQ(state.borrows.size(), 1u) << "one intent, one borrow";
  EXPECT_EQ(state.received_borrow, 1);
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(responses[i].transaction_id(), state.borrows[0].tran_id);
    EXPECT_EQ(responses[i].request_id(), Uuid(1));
  }
}

TEST(IdempotencyTest,
     RepeatAfterCompletionGetsTheSameAnswerAndAMismatchIsRefused) {
  GatewayEnv env;
  BorrowResponse first, again;
  const BorrowRequest request = WithId(MakeBorrow(1001, "12"), Uuid(2));
  ASSERT_TRUE(env.Borrow(request, &first).ok());
  ASSERT_TRUE(env.Borrow(request, &again).ok());
  EXPECT_EQ(again.transaction_id(), first.transaction_id());
  BorrowResponse ignored;
  grpc::Status conflict =
      env.Borrow(WithId(MakeBorrow(1001, "13"), Uuid(2)), &ignored);
  EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(conflict.error_message(), "already used"));
  // A rejected borrow is repeated as rejected, without asking Binance again.
  const BorrowRequest too_much = WithId(MakeBorrow(1002, "1000"), Uuid(3));
  EXPECT_EQ(env.Borrow(too_much, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(env.Borrow(too_much, &ignored).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  FakeState state = env.State();
  EXPECT_EQ(state.borrows.size(), 1u);
  EXPECT_EQ(state.received_borrow, 2);
}

TEST(IdempotencyTest, OneUuidInUpperAndLowerCaseIsOneBorrow) {
  GatewayEnv env;
  const std::string lower = "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f";
  const std::string upper = "8C6F7F8E-3B5E-4C1A-9D2F-0A1B2C3D4E5F";
  BorrowResponse first, again;
  ASSERT_TRUE(env.Borrow(WithId(MakeBorrow(1001, "21"), upper), &first).ok());
  ASSERT_TRUE(env.Borrow(WithId(MakeBorrow(1001, "21"), lower), &again).ok());
  EXPECT_EQ(first.request_id(), lower) << "echoed in its canonical form";
  EXPECT_EQ(again.transaction_id(), first.transaction_id());
  EXPECT_EQ(env.State().borrows.size(), 1u) << "one id, one borrow";
  GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(upper, &record).ok());
  EXPECT_EQ(record.transaction_id(), first.transaction_id());
}

TEST(IdempotencyTest, GeneratedIdIsReturnedAndGetBorrowFindsIt) {
  GatewayEnv env;
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok());
  GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(response.request_id(), &record).ok());
  EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
  EXPECT_EQ(record.resolution(),
            institutional_loan::v1::BORROW_RESOLUTION_DIRECT);
  EXPECT_EQ(record.transaction_id(), response.transaction_id());
  EXPECT_EQ(record.amount(), "5");
  EXPECT_EQ(env.GetBorrow(Uuid(999), &record).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(env.GetBorrow("nope", &record).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(JournalTest, AJournalThatCannotBeWrittenMeansNothingIsSent) {
  GatewayEnv env;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((env.dir() + "/journal.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  BorrowResponse response;
  grpc::Status status = env.Borrow(MakeBorrow(1001, "5"), &response);
  sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "journal"));
  EXPECT_EQ(env.State().received_borrow, 0);
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok())
      << "and it recovers";
}

// The journal file deleted (or replaced) under a running gateway: it stops
// signing, says NOT_SERVING, and a restart does not silently start afresh.
// Two processes on one journal would each think they hold the one borrow in
// flight per risk unit: the second refuses to start, naming the holder.
TEST(JournalTest, ASecondGatewayOnTheSameJournalRefusesToStart) {
  GatewayEnv env;
  CommandResult second = RunCommand(
      {GATEWAY_BINARY, "--listen=127.0.0.1:0", "--insecure_plaintext",
       "--metrics_listen=", "--upstream_base_urls=" + env.fake_url(),
       "--upstream_ca_file=" + env.dir() + "/tls/ca.pem",
       "--api_key_file=" + env.dir() + "/api_key",
       "--private_key_file=" + env.dir() + "/private_key",
       "--journal_path=" + env.dir() + "/journal.db"});
  EXPECT_EQ(second.exit_code, 2) << second.out << second.err;
  EXPECT_TRUE(absl::StrContains(
      second.out, absl::StrCat("journal ", env.dir(),
                               "/journal.db is in use by another gateway "
                               "process (pid ",
                               env.gateway_pid(), ")")))
      << second.out;
  env.ScanAlso(second.out + second.err);
  BorrowResponse response;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "5"), &response).ok())
      << "the first gateway is untouched";
}

TEST(JournalTest, AJournalDeletedWhileRunningStopsSigningAndIsNotRecreated) {
  GatewayEnv env;
  BorrowResponse response;
  ASSERT_TRUE(
      env.Borrow(WithId(MakeBorrow(1001, "5"), Uuid(50)), &response).ok());
  auto health = [&] { return RunCommand(env.Loanctl({"health"})); };
  EXPECT_EQ(health().exit_code, 0);
  const std::string journal = env.dir() + "/journal.db";
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::rename(journal + suffix, journal + suffix + ".gone");
  BorrowResponse ignored;
  grpc::Status refused = env.Borrow(MakeBorrow(1001, "6"), &ignored);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReasonAndOutcome(refused).first, "JOURNAL_UNAVAILABLE")
      << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "deleted"))
      << refused.error_message();
  EXPECT_EQ(env.State().received_borrow, 1) << "nothing signed or sent";
  absl::SleepFor(absl::Milliseconds(1500));  // The watch looks every second.
  CommandResult not_serving = health();
  EXPECT_EQ(not_serving.exit_code, 6);
  EXPECT_TRUE(absl::StrContains(not_serving.out, "NOT_SERVING"));
  EXPECT_TRUE(absl::StrContains(env.ScrapeMetrics(),
                                "\nloan_gateway_journal_intact 0\n"));
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(),
                                R"("condition":"journal","holds":"false")"));
  env.KillGateway(SIGKILL);
  // Started again on the same path, it refuses to create a fresh journal.
  CommandResult restart = RunCommand(
      {GATEWAY_BINARY, "--listen=127.0.0.1:0", "--insecure_plaintext",
       "--metrics_listen=", "--upstream_base_urls=https://127.0.0.1:1",
       "--api_key_file=" + env.dir() + "/api_key",
       "--private_key_file=" + env.dir() + "/private_key",
       "--journal_path=" + journal});
  EXPECT_EQ(restart.exit_code, 2) << restart.out << restart.err;
  EXPECT_TRUE(absl::StrContains(restart.out, "--create_journal"))
      << restart.out;
  EXPECT_FALSE(std::filesystem::exists(journal));
  env.ScanAlso(restart.out + restart.err);
  // Put back, the same journal answers the old request_id again.
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::rename(journal + suffix + ".gone", journal + suffix);
  env.RestartGateway();
  GetBorrowResponse record;
  ASSERT_TRUE(env.GetBorrow(Uuid(50), &record).ok());
  EXPECT_EQ(record.transaction_id(), response.transaction_id());
}

// The issue's case, with the real fake: R1's request is cut off before it
// reaches Binance (UNKNOWN); the caller borrows the same amount again as R2,
// which Binance executes and answers slowly. R2's record must never settle
// R1, and R2 keeps its own transaction.
TEST(AttributionTest, ALaterBorrowOfTheSameAmountIsNeverGivenToAnUnknownOne) {
  GatewayEnv env({.gateway_args = {"--reconcile_interval=200ms",
                                   "--reconcile_settle_after=2s"}});
  // Read, not executed, connection reset: the gateway cannot know which.
  env.InjectFault(R"({"reset":"after_read","execute":false})");
  BorrowResponse ignored;
  grpc::Status r1 =
      env.Borrow(WithId(MakeBorrow(1001, "100"), Uuid(301)), &ignored);
  ASSERT_EQ(r1.error_code(), grpc::StatusCode::UNKNOWN) << r1.error_message();
  env.InjectFault(R"({"answer_delay_ms":4000})");
  BorrowResponse r2;
  const absl::Time asked = absl::Now();
  grpc::Status s2 = env.Borrow(WithId(MakeBorrow(1001, "100"), Uuid(302)), &r2,
                               std::chrono::seconds(20));
  ASSERT_TRUE(s2.ok()) << s2.error_message();
  EXPECT_GE(absl::Now() - asked, absl::Seconds(4));
  FakeState state = env.State();
  ASSERT_EQ(state.borrows.size(), 1u) << "Binance executed one borrow: R2";
  EXPECT_EQ(r2.transaction_id(), state.borrows[0].tran_id);
  GetBorrowResponse first = WaitSettled(env, Uuid(301));
  EXPECT_EQ(first.state(), institutional_loan::v1::BORROW_STATE_REJECTED);
  EXPECT_TRUE(first.transaction_id().empty());
  GetBorrowResponse second;
  ASSERT_TRUE(env.GetBorrow(Uuid(302), &second).ok());
  EXPECT_EQ(second.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
  EXPECT_EQ(second.resolution(),
            institutional_loan::v1::BORROW_RESOLUTION_DIRECT);
  EXPECT_EQ(second.transaction_id(), state.borrows[0].tran_id);
  // R2's request was signed after R1's execution window had passed.
  const std::string log = env.GatewayLog();
  EXPECT_TRUE(absl::StrContains(log, "risk_unit_window_wait"));
  EXPECT_FALSE(absl::StrContains(log, "journal_outcome_failed"));
  EXPECT_FALSE(absl::StrContains(log, "reconcile_attribution_reversed"));
}

// R1 did execute, late (Binance slow: the answer never came in time), while
// R2 of the same amount executes too: each ends with its own transaction.
TEST(AttributionTest, BothExecutedEachGetsItsOwnTransaction) {
  GatewayEnv env({.gateway_args = {"--reconcile_interval=200ms",
                                   "--reconcile_settle_after=2s",
                                   "--upstream_timeout=700ms"}});
  env.InjectFault(R"({"answer_delay_ms":1500})");
  BorrowResponse ignored;
  grpc::Status r1 =
      env.Borrow(WithId(MakeBorrow(1001, "100"), Uuid(311)), &ignored);
  ASSERT_EQ(r1.error_code(), grpc::StatusCode::UNKNOWN) << r1.error_message();
  BorrowResponse r2;
  ASSERT_TRUE(env.Borrow(WithId(MakeBorrow(1001, "100"), Uuid(312)), &r2,
                         std::chrono::seconds(20))
                  .ok());
  FakeState state = env.State();
  ASSERT_EQ(state.borrows.size(), 2u);
  GetBorrowResponse first = WaitSettled(env, Uuid(311));
  EXPECT_EQ(first.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
  EXPECT_EQ(first.resolution(),
            institutional_loan::v1::BORROW_RESOLUTION_RECONCILED);
  EXPECT_EQ(first.transaction_id(), state.borrows[0].tran_id);
  EXPECT_EQ(r2.transaction_id(), state.borrows[1].tran_id);
}

struct UnknownCase {
  std::string name;
  std::string fault;
  bool executed;
  std::vector<std::string> extra_args = {};
};
void PrintTo(const UnknownCase& c, std::ostream* os) { *os << c.name; }

class ReconciliationTest : public ::testing::TestWithParam<UnknownCase> {};

TEST_P(ReconciliationTest, GetBorrowEndsInTheStateTheLedgerShows) {
  std::vector<std::string> args = kFastReconcile;
  args.insert(args.end(), GetParam().extra_args.begin(),
              GetParam().extra_args.end());
  GatewayEnv env({.gateway_args = args});
  env.InjectFault(GetParam().fault);
  BorrowResponse response;
  const std::string id = Uuid(10);
  grpc::Status status =
      env.Borrow(WithId(MakeBorrow(1001, "31.4159"), id), &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNKNOWN)
      << status.error_message();
  GetBorrowResponse record = WaitSettled(env, id);
  FakeState state = env.State();
  EXPECT_EQ(state.received_borrow, 1) << "never resent";
  EXPECT_EQ(record.resolution(),
            institutional_loan::v1::BORROW_RESOLUTION_RECONCILED);
  if (GetParam().executed) {
    ASSERT_EQ(state.borrows.size(), 1u);
    EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
    EXPECT_EQ(record.transaction_id(), state.borrows[0].tran_id);
  } else {
    EXPECT_TRUE(state.borrows.empty());
    EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_REJECTED);
  }
  // A repeat now gets the reconciled answer, still without a second borrow.
  grpc::Status repeat =
      env.Borrow(WithId(MakeBorrow(1001, "31.4159"), id), &response);
  EXPECT_EQ(repeat.ok(), GetParam().executed) << repeat.error_message();
  EXPECT_EQ(env.State().received_borrow, 1);
}

INSTANTIATE_TEST_SUITE_P(
    EachUnknownFault, ReconciliationTest,
    ::testing::Values(UnknownCase{"http_503_after_executing",
                                  R"({"status":503,"execute":true})", true},
                      UnknownCase{"reset_after_executing",
                                  R"({"reset":"after_read","execute":true})",
                                  true},
                      UnknownCase{"http_500_without_executing",
                                  R"({"status":500,"code":-1000})", false},
                      UnknownCase{"timeout_then_executed",
                                  R"({"delay_ms":1500})",
                                  true,
                                  {"--upstream_timeout=700ms"}}),
    [](const auto& info) { return info.param.name; });

TEST(DrainTest, SentBorrowsFinishAndQueuedOnesAreRefusedAsNotSent) {
  GatewayEnv env(
      {.fake_args = {"--risk-unit", "2001:USDT=1000", "--risk-unit",
                     "2002:USDT=1000", "--risk-unit", "2003:USDT=1000",
                     "--risk-unit", "2004:USDT=1000"}});
  env.InjectFault(R"({"delay_ms":1200,"count":8})");
  // The TLS handshake first: all eight must be in before the SIGTERM.
  ASSERT_TRUE(env.channel()->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::seconds(10)));
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(8);
  std::vector<BorrowResponse> responses(8);
  std::vector<absl::Duration> took(8);
  const absl::Time start = absl::Now();
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = env.Borrow(
          WithId(MakeBorrow(2001 + i % 4, absl::StrCat(i + 1)), Uuid(100 + i)),
          &responses[i]);
      took[i] = absl::Now() - start;
    });
  }
  // All eight are in: one sent and one waiting per risk unit.
  absl::SleepFor(absl::Milliseconds(400));
  env.SignalGateway(SIGTERM);
  for (auto& t : threads) t.join();
  const int exit_status = env.WaitGateway();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0)
      << exit_status;
  FakeState state = env.State();
  EXPECT_EQ(state.borrows.size(), 4u) << "the four that were sent";
  EXPECT_EQ(state.received_borrow, 4) << "nothing sent after SIGTERM";
  std::set<std::string> executed;
  for (const LedgerEntry& e : state.borrows) executed.insert(e.tran_id);
  int ok = 0;
  std::vector<int> refused;
  for (int i = 0; i < 8; ++i) {
    if (statuses[i].ok()) {
      ++ok;
      EXPECT_TRUE(executed.contains(responses[i].transaction_id()));
      continue;
    }
    refused.push_back(i);
    EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::UNAVAILABLE) << i;
    EXPECT_EQ(ReasonAndOutcome(statuses[i]),
              std::make_pair(std::string("GATEWAY_DRAINING"),
                             std::string("REJECTED")))
        << i << ": " << statuses[i].error_message();
    EXPECT_LT(took[i], absl::Milliseconds(1000))
        << "refused at once, not after the borrows in flight";
  }
  EXPECT_EQ(ok, 4);
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "\"event\":\"stopped\""));
  // The journal, reopened by a new process, has every outcome; a refused
  // borrow repeated with its request_id is sent now, once.
  env.RestartGateway();
  for (int i = 0; i < 8; ++i) {
    GetBorrowResponse record;
    ASSERT_TRUE(env.GetBorrow(Uuid(100 + i), &record).ok());
    if (statuses[i].ok()) {
      EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
      EXPECT_EQ(record.transaction_id(), responses[i].transaction_id());
    } else {
      EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_REJECTED)
          << i;
    }
  }
  ASSERT_FALSE(refused.empty());
  const int again = refused.front();
  BorrowResponse repeated;
  ASSERT_TRUE(
      env.Borrow(WithId(MakeBorrow(2001 + again % 4, absl::StrCat(again + 1)),
                        Uuid(100 + again)),
                 &repeated)
          .ok());
  EXPECT_EQ(env.State().borrows.size(), 5u);
}

// The issue's case: three slow borrows queued on one risk unit and a drain
// shorter than their sum. Only the one sent executes; no borrow is sent after
// its caller was answered.
TEST(DrainTest, AShortDrainNeverSendsWhatItRefused) {
  GatewayEnv env(
      {.gateway_args = {"--drain_timeout=3s", "--upstream_timeout=2500ms"}});
  env.InjectFault(R"({"delay_ms":2000,"count":3})");
  // The TLS handshake first, so that the calls below arrive in their order
  // and before the SIGTERM even on a loaded machine.
  ASSERT_TRUE(env.channel()->WaitForConnected(std::chrono::system_clock::now() +
                                              std::chrono::seconds(10)));
  std::vector<std::thread> threads;
  std::vector<grpc::Status> statuses(3);
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      BorrowResponse ignored;
      statuses[i] = env.Borrow(
          WithId(MakeBorrow(1001, absl::StrCat(i + 1)), Uuid(200 + i)),
          &ignored);
    });
    absl::SleepFor(absl::Milliseconds(50));  // In this order.
  }
  absl::SleepFor(absl::Milliseconds(300));
  env.SignalGateway(SIGTERM);
  for (auto& t : threads) t.join();
  const int exit_status = env.WaitGateway();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0)
      << exit_status;
  EXPECT_TRUE(statuses[0].ok()) << statuses[0].error_message();
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(ReasonAndOutcome(statuses[i]).first, "GATEWAY_DRAINING") << i;
  }
  absl::SleepFor(absl::Seconds(1));  // Anything late would show up now.
  EXPECT_EQ(env.State().received_borrow, 1);
  EXPECT_EQ(env.State().borrows.size(), 1u);
}

// A drain that runs out exits non-zero; the caller of the borrow still in
// flight hears a transport failure (no ErrorInfo), which the client library
// reports as "may have executed" with its request_id; the next start
// reconciles it from Binance's records. The upstream timeout is shorter than
// the drain (the start insists), so what runs out here is the journal: the
// test holds its write lock, as a stalled disk would, while the answer is
// being journaled.
TEST(DrainTest, ADrainThatRunsOutExitsNonZeroAndTheOutcomeIsReconciled) {
  GatewayEnv env(
      {.gateway_args = {"--drain_timeout=1500ms", "--upstream_timeout=1s",
                        "--reconcile_interval=200ms",
                        "--reconcile_settle_after=2s"}});
  env.InjectFault(R"({"delay_ms":600})");
  const std::string id = "6a1c4d6e-0e5f-4e2b-9a3c-1b2c3d4e5f61";
  CommandResult out;
  std::thread caller([&] {
    out = RunCommand(
        env.Loanctl({"--json", "borrow", "--group", "1001", "--asset", "USDT",
                     "--amount", "31", "--request-id", id}));
  });
  absl::SleepFor(absl::Milliseconds(300));  // Sent; its answer is on its way.
  sqlite3* stall = nullptr;
  ASSERT_EQ(sqlite3_open((env.dir() + "/journal.db").c_str(), &stall),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(stall, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  env.SignalGateway(SIGTERM);
  const int exit_status = env.WaitGateway();
  sqlite3_exec(stall, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(stall);
  caller.join();
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 1)
      << exit_status;
  EXPECT_TRUE(
      absl::StrContains(env.GatewayLog(), "\"event\":\"drain_timeout\""));
  EXPECT_EQ(out.exit_code, 5) << out.out << out.err;
  EXPECT_TRUE(absl::StrContains(out.out, "\"may_have_executed\":true"))
      << out.out;
  EXPECT_TRUE(absl::StrContains(out.out, id)) << out.out;
  ASSERT_EQ(env.State().borrows.size(), 1u);
  env.RestartGateway();
  GetBorrowResponse record = WaitSettled(env, id);
  EXPECT_EQ(record.state(), institutional_loan::v1::BORROW_STATE_SUCCEEDED);
  EXPECT_EQ(record.transaction_id(), env.State().borrows[0].tran_id);
}

// SIGKILL mid-call: loanctl (which always sends a request_id) prints the id
// with the error and says the borrow may have executed.
TEST(DrainTest, AKilledGatewayLeavesTheCallerARequestIdToLookUp) {
  GatewayEnv env;
  env.InjectFault(R"({"delay_ms":1500})");
  CommandResult out;
  std::thread caller([&] {
    out = RunCommand(env.Loanctl({"--json", "borrow", "--group", "1001",
                                  "--asset", "USDT", "--amount", "32"}));
  });
  absl::SleepFor(absl::Milliseconds(500));
  env.KillGateway(SIGKILL);
  caller.join();
  EXPECT_EQ(out.exit_code, 5) << out.out << out.err;
  EXPECT_TRUE(absl::StrContains(out.out, "\"may_have_executed\":true"))
      << out.out;
  EXPECT_TRUE(absl::StrContains(out.out, "\"request_id\":\"")) << out.out;
}

}  // namespace
}  // namespace loan_gateway::testing

namespace loan_gateway::testing {
namespace {

// The value of one sample line ("name{labels} value") in Prometheus text; 0 if
// absent.
double Sample(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  const size_t start = at + series.size() + 2;
  return std::stod(text.substr(start, text.find('\n', start) - start));
}

TEST(MetricsTest, EveryCounterAndHistogramMovesByWhatWasDone) {
  GatewayEnv env({.gateway_args = {"--reconcile_interval=1h"}});
  const std::string before = env.ScrapeMetrics();
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "2"), &response).ok());
  EXPECT_FALSE(env.Borrow(MakeBorrow(1002, "1000"), &response).ok());  // -27009
  env.InjectFault(R"({"status":503})");
  EXPECT_EQ(env.Borrow(MakeBorrow(1001, "3"), &response).error_code(),
            grpc::StatusCode::UNKNOWN);
  EXPECT_FALSE(env.Borrow(MakeBorrow(1001, "-3"), &response)
                   .ok());  // Never reaches Binance.
  const std::string after = env.ScrapeMetrics();

  auto moved = [&](const std::string& series) {
    return Sample(after, series) - Sample(before, series);
  };
  EXPECT_EQ(moved("loan_gateway_borrow_calls_total{outcome=\"SUCCEEDED\","
                  "reason=\"SUCCEEDED\"}"),
            2);
  EXPECT_EQ(moved("loan_gateway_borrow_calls_total{outcome=\"REJECTED\",reason="
                  "\"BORROW_LIMIT_EXCEEDED\"}"),
            1);
  EXPECT_EQ(moved("loan_gateway_borrow_calls_total{outcome=\"UNKNOWN\",reason="
                  "\"BORROW_OUTCOME_UNKNOWN\"}"),
            1);
  EXPECT_EQ(moved("loan_gateway_borrow_calls_total{outcome=\"REJECTED\",reason="
                  "\"INVALID_REQUEST\"}"),
            1);
  EXPECT_EQ(moved("loan_gateway_binance_codes_total{code=\"-27009\"}"), 1);
  EXPECT_EQ(moved("loan_gateway_upstream_responses_total{http_status=\"503\"}"),
            1);
  EXPECT_EQ(moved("loan_gateway_upstream_seconds_count"), 4);
  EXPECT_EQ(moved("loan_gateway_borrow_call_seconds_count"), 5);
  EXPECT_GT(moved("loan_gateway_upstream_seconds_sum"), 0);
  EXPECT_EQ(moved("loan_gateway_journal_write_seconds_count"), 8)
      << "one after one, each of the 4 borrows commits twice: its intent "
         "with its attempt (before it is signed), then its outcome";
  EXPECT_EQ(moved("loan_gateway_uid_weight_used"), 12000);
  EXPECT_EQ(moved("loan_gateway_uid_weight_remaining"), -12000);
  EXPECT_EQ(Sample(after, "loan_gateway_unknown_outcomes_pending"), 1);
  EXPECT_EQ(Sample(after, "loan_gateway_ban_breaker_open"), 0);
  EXPECT_TRUE(
      absl::StrContains(after, "loan_gateway_clock_uncertainty_seconds 0"));
  env.ScanAlso(after);
}

}  // namespace
}  // namespace loan_gateway::testing

namespace loan_gateway::testing {
namespace {

CommandResult Loanctl(GatewayEnv& env, std::vector<std::string> args) {
  std::vector<std::string> argv = env.Loanctl(args);
  CommandResult r = RunCommand(argv);
  env.ScanAlso(r.out + r.err);
  return r;
}

TEST(LoanctlExitCodeTest, EachErrorClassHasItsExitCode) {
  GatewayEnv env({.gateway_args = {"--reconcile_interval=1h"}});
  auto borrow = [&](const std::string& group, const std::string& amount) {
    return Loanctl(env, {"--json", "borrow", "--group", group, "--asset",
                         "USDT", "--amount", amount});
  };
  EXPECT_EQ(borrow("1001", "1").exit_code, 0);
  EXPECT_EQ(borrow("1001", "1e3").exit_code, 3) << "invalid argument";
  EXPECT_EQ(borrow("1002", "1000").exit_code, 4) << "borrow limit";
  EXPECT_EQ(borrow("424242", "1").exit_code, 9) << "risk unit not found";
  env.InjectFault(R"({"status":503})");
  CommandResult unknown = borrow("1001", "2");
  EXPECT_EQ(unknown.exit_code, 5) << "outcome unknown";
  EXPECT_TRUE(absl::StrContains(unknown.out, "BORROW_OUTCOME_UNKNOWN"));
  env.InjectFault(R"({"status":400,"code":-27025,"msg":"pending"})");
  env.InjectFault(R"({"status":400,"code":-27025,"msg":"pending"})");
  env.InjectFault(R"({"status":400,"code":-27025,"msg":"pending"})");
  EXPECT_EQ(borrow("1001", "3").exit_code, 8)
      << "pending, after the client's retries";
  EXPECT_EQ(env.State().received_borrow, 7) << "3 attempts for the pending one";
  env.InjectFault(R"({"status":400,"code":-1022,"msg":"bad signature"})");
  EXPECT_EQ(borrow("1001", "4").exit_code, 10) << "credentials rejected";
  env.InjectFault(
      R"({"status":429,"code":-1003,"msg":"slow down","headers":{"Retry-After":"30"}})");
  EXPECT_EQ(borrow("1001", "5").exit_code, 7)
      << "rate limited, too long to wait";
  CommandResult held = borrow("1001", "5");
  EXPECT_EQ(held.exit_code, 7) << "the breaker holds it locally";
  EXPECT_TRUE(absl::StrContains(held.out, "\"breaker\":\"open\""));
}

TEST(LoanctlExitCodeTest, RetriesOnlyWhatExecutedNothingWithTheSameRequestId) {
  GatewayEnv env;
  env.InjectFault(
      R"({"status":418,"code":-1003,"msg":"banned","headers":{"Retry-After":"1"}})");
  CommandResult r = Loanctl(
      env, {"borrow", "--group", "1001", "--asset", "USDT", "--amount", "9",
            "--request-id", "6a1c4d6e-0e5f-4e2b-9a3c-1b2c3d4e5f60"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  FakeState state = env.State();
  EXPECT_EQ(state.received_borrow, 2)
      << "one ban, one success after Retry-After";
  EXPECT_EQ(state.borrows.size(), 1u);
  CommandResult get = Loanctl(env, {"--json", "get", "--request-id",
                                    "6a1c4d6e-0e5f-4e2b-9a3c-1b2c3d4e5f60"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(absl::StrContains(get.out, "\"state\":\"SUCCEEDED\""));
  EXPECT_TRUE(absl::StrContains(get.out, state.borrows[0].tran_id));
  EXPECT_EQ(Loanctl(env, {"get", "--request-id",
                          "6a1c4d6e-0e5f-4e2b-9a3c-000000000000"})
                .exit_code,
            9);
}

}  // namespace
}  // namespace loan_gateway::testing
