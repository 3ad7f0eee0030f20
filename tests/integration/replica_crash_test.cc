// The crash test with two and three gateway replicas on one PostgreSQL
// journal and one Binance (issue 16): concurrent borrows and repeats of
// request_ids spread over every replica, a random replica SIGKILLed each
// round (and restarted, as its supervisor would), the database SIGKILLed and
// restarted once, faults at Binance throughout; then reconciliation. Every
// request_id's final state must match the fake's ledger: none executed
// twice, none lost, and never two operations of one risk unit at Binance at
// once.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"
#include "ledger_check.h"
#include "throwaway_postgres.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::GetBorrowResponse;

constexpr int kRounds = 5;
constexpr int kBorrowsPerRound = 12;
constexpr int kRiskUnits = 4;
constexpr int kDatabaseRestartRound = 2;
constexpr char kPassword[] = "throwaway-test-password";

using Intent = CrashIntent;

int CountOccurrences(absl::string_view text, absl::string_view what) {
  int n = 0;
  for (size_t at = text.find(what); at != absl::string_view::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

class ReplicaCrashTest : public ::testing::TestWithParam<int> {};

// A caller behind a Service: it asks one replica and, when that one cannot
// take the borrow (a dead process, the database away: UNAVAILABLE with
// nothing sent), the next, with the same request_id.
void BorrowThroughAnyReplica(
    const std::vector<std::unique_ptr<GatewayEnv>>& replicas, size_t first,
    const Intent& intent) {
  BorrowRequest request = MakeBorrow(intent.group, intent.amount);
  request.set_request_id(intent.request_id);
  const absl::Time give_up = absl::Now() + absl::Seconds(8);
  for (size_t r = first; absl::Now() < give_up; ++r) {
    BorrowResponse response;
    grpc::Status s = replicas[r % replicas.size()]->Borrow(
        request, &response, std::chrono::seconds(3));
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE) return;
    absl::SleepFor(absl::Milliseconds(50));
  }
}

TEST_P(ReplicaCrashTest, KillsAndADatabaseRestartNeverDoubleBorrowOrLose) {
  const int replica_count = GetParam();
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> pg =
      ThrowawayPostgres::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string password_file =
      absl::StrCat(::testing::TempDir(), "/replica-password-", getpid());
  std::ofstream(password_file) << kPassword << "\n";
  EnvOptions options;
  options.fake_args = {"--uid-weight-limit", "1000000000"};
  for (int u = 0; u < kRiskUnits; ++u) {
    options.fake_args.push_back("--risk-unit");
    options.fake_args.push_back(absl::StrCat(3001 + u, ":USDT=100000000"));
  }
  options.gateway_args = {
      "--journal_url=" +
          absl::StrReplaceAll((*pg)->url(),
                              {{":" + std::string(kPassword), ""}}),
      "--journal_password_file=" + password_file,
      "--uid_weight_limit=1000000000",
      "--recv_window_ms=1000",
      "--max_clock_uncertainty=400ms",
      "--reconcile_interval=200ms",
      "--reconcile_settle_after=3s",
      "--upstream_timeout=2s"};
  std::vector<std::unique_ptr<GatewayEnv>> replicas;
  replicas.push_back(std::make_unique<GatewayEnv>(options));
  options.share_fake_of = replicas[0].get();
  for (int i = 1; i < replica_count; ++i) {
    replicas.push_back(std::make_unique<GatewayEnv>(options));
  }
  for (auto& replica : replicas) replica->ScanFor(kPassword);
  for (const char* fault :
       {R"({"probability":0.12,"status":503,"execute":true})",
        R"({"probability":0.10,"reset":"after_read","execute":true})",
        R"({"probability":0.10,"status":500,"code":-1000})",
        R"({"probability":0.08,"reset":"after_read"})",
        R"({"probability":0.25,"delay_ms":250})"}) {
    replicas[0]->InjectFault(fault);
  }
  const char* seed_env = std::getenv("LG_CRASH_SEED");
  const unsigned seed =
      seed_env ? static_cast<unsigned>(std::atoll(seed_env))
               : static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::printf("replica crash test (%d replicas) seed %u (LG_CRASH_SEED=%u)\n",
              replica_count, seed, seed);
  std::mt19937 rng(seed);
  std::vector<Intent> intents;
  int kills = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Intent> batch;
    for (int i = 0; i < kBorrowsPerRound; ++i) {
      const int n = round * kBorrowsPerRound + i;
      batch.push_back({absl::StrCat("00000000-0000-4000-b000-",
                                    absl::Dec(n, absl::kZeroPad12)),
                       3001 + n % kRiskUnits, absl::StrCat(n + 1, ".75")});
    }
    // Repeats of earlier ids ride along, on other replicas.
    for (int i = 0; i < 4 && round > 0; ++i)
      batch.push_back(intents[intents.size() - 1 - i * 3]);
    std::vector<std::thread> clients;
    for (const Intent& intent : batch) {
      const size_t first = rng() % replicas.size();
      clients.emplace_back([&replicas, intent, first] {
        BorrowThroughAnyReplica(replicas, first, intent);
      });
    }
    absl::SleepFor(absl::Milliseconds(rng() % 500));
    int killed = -1;
    if (round == kDatabaseRestartRound) {
      ASSERT_TRUE((*pg)->Stop(SIGKILL).ok());
      absl::SleepFor(absl::Milliseconds(300));
      ASSERT_TRUE((*pg)->Restart().ok());
    } else {
      killed = static_cast<int>(rng() % replicas.size());
      replicas[killed]->KillGateway(SIGKILL);
      ++kills;
    }
    for (auto& c : clients) c.join();
    if (killed >= 0) replicas[killed]->RestartGateway();
    for (int i = 0; i < kBorrowsPerRound; ++i) intents.push_back(batch[i]);
  }

  // Whichever replica holds the lease reconciles what the kills left open;
  // any replica reads the shared journal.
  const CrashOutcome o = CheckIntentsAgainstLedger(
      intents,
      [&replicas](size_t i, const std::string& id, absl::Time give_up) {
        return replicas[i % replicas.size()]->AwaitSettled(id, give_up);
      },
      [&replicas] { return replicas[0]->State(); });
  EXPECT_EQ(o.state.overlapping_operations, 0)
      << "two operations of one risk unit were at Binance at once";
  // Every replica writes: each answered borrows it made itself, and waited
  // for another replica's turn of a risk unit.
  std::string per_replica;
  int writing = 0;
  for (size_t i = 0; i < replicas.size(); ++i) {
    const std::string log = replicas[i]->GatewayLog();
    int succeeded = 0;
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      if (absl::StrContains(line, "\"outcome\":\"SUCCEEDED\"") &&
          !absl::StrContains(line, "\"replayed\"")) {
        ++succeeded;
      }
    }
    if (succeeded > 0) ++writing;
    absl::StrAppend(&per_replica, i == 0 ? "" : ", ", "replica ", i, ": ",
                    succeeded, " borrows, ",
                    CountOccurrences(log, "risk_unit_busy_elsewhere"),
                    " waits for another's turn");
  }
  EXPECT_GE(writing, 2) << "more than one replica borrowed: " << per_replica;
  std::printf(
      "replica crash test: %d replicas, %d rounds, %d replica SIGKILLs and 1 "
      "database SIGKILL, %zu intents (+repeats); final: %d executed, %d "
      "rejected, %d never journaled, %d settled by reconciliation; fake "
      "ledger %zu borrows, %lld complete requests received, %lld overlapping "
      "operations of one risk unit; %s\n",
      replica_count, kRounds, kills, intents.size(), o.executed, o.rejected,
      o.not_journaled, o.reconciled, o.state.borrows.size(),
      static_cast<long long>(o.state.received_borrow),
      static_cast<long long>(o.state.overlapping_operations),
      per_replica.c_str());
}

// What the crash test's last check would see without a shared journal: two
// gateways of one credit account, each with a journal of its own, put two
// borrows of one risk unit at Binance at once (and the fake counts it).
TEST(ReplicaOverlapTest, GatewaysWithJournalsOfTheirOwnOverlapAtBinance) {
  GatewayEnv first;
  GatewayEnv second({.share_fake_of = &first});
  first.InjectFault(R"({"count":2,"delay_ms":600})");
  std::thread a([&] {
    BorrowResponse response;
    EXPECT_TRUE(first.Borrow(MakeBorrow(1001, "1"), &response).ok());
  });
  std::thread b([&] {
    BorrowResponse response;
    EXPECT_TRUE(second.Borrow(MakeBorrow(1001, "2"), &response).ok());
  });
  a.join();
  b.join();
  EXPECT_EQ(first.State().overlapping_operations, 1);
}

INSTANTIATE_TEST_SUITE_P(TwoAndThree, ReplicaCrashTest, ::testing::Values(2, 3),
                         [](const auto& info) {
                           return absl::StrCat(info.param, "Replicas");
                         });

}  // namespace
}  // namespace loan_gateway::testing
