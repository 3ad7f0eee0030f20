// Crash test: a stream of borrows with random faults while the gateway is
// killed with SIGKILL at random moments and restarted on the same journal,
// round after round. Afterwards every request_id's final state must match the
// fake's ledger exactly: no intent executed twice, no journal record lost.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "gtest/gtest.h"
#include "ledger_check.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using institutional_loan::v1::GetBorrowResponse;

constexpr int kRounds = 6;
constexpr int kBorrowsPerRound = 16;
constexpr int kRiskUnits = 4;

using Intent = CrashIntent;

TEST(CrashTest, SigkillAtRandomMomentsNeverDoubleBorrowsOrLosesARecord) {
  std::vector<std::string> fake_args = {"--uid-weight-limit", "1000000000"};
  for (int u = 0; u < kRiskUnits; ++u) {
    fake_args.push_back("--risk-unit");
    fake_args.push_back(absl::StrCat(3001 + u, ":USDT=100000000"));
  }
  GatewayEnv env({.fake_args = fake_args,
                  .gateway_args = {
                      "--uid_weight_limit=1000000000",
                      // A short recvWindow keeps the wait after
                      // an unknown outcome (recvWindow + 2 s)
                      // within the callers' 5 s deadlines.
                      "--recv_window_ms=1000", "--max_clock_uncertainty=400ms",
                      "--reconcile_interval=200ms",
                      "--reconcile_settle_after=3s", "--upstream_timeout=2s"}});
  for (const char* fault :
       {R"({"probability":0.12,"status":503,"execute":true})",
        R"({"probability":0.10,"reset":"after_read","execute":true})",
        R"({"probability":0.10,"status":500,"code":-1000})",
        R"({"probability":0.08,"reset":"after_read"})",
        R"({"probability":0.25,"delay_ms":250})"}) {
    env.InjectFault(fault);
  }
  // A new seed each run explores new interleavings; LG_CRASH_SEED replays one.
  const char* seed_env = std::getenv("LG_CRASH_SEED");
  const unsigned seed =
      seed_env ? static_cast<unsigned>(std::atoll(seed_env))
               : static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::printf("crash test seed %u (LG_CRASH_SEED=%u replays it)\n", seed, seed);
  std::mt19937 rng(seed);
  std::vector<Intent> intents;
  int kills = 0, answered_ok = 0, answered_error = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Intent> batch;
    for (int i = 0; i < kBorrowsPerRound; ++i) {
      const int n = round * kBorrowsPerRound + i;
      batch.push_back({absl::StrCat("00000000-0000-4000-9000-",
                                    absl::Dec(n, absl::kZeroPad12)),
                       3001 + n % kRiskUnits, absl::StrCat(n + 1, ".25")});
    }
    // Repeats of the previous round's ids (same parameters) ride along.
    for (int i = 0; i < 4 && round > 0; ++i)
      batch.push_back(intents[intents.size() - 1 - i * 3]);
    std::vector<std::thread> clients;
    std::mutex mu;
    for (const Intent& intent : batch) {
      const int stagger_ms =
          static_cast<int>(rng() % 5);  // rng stays on this thread.
      clients.emplace_back([&, intent, stagger_ms] {
        absl::SleepFor(absl::Milliseconds(stagger_ms));
        BorrowRequest request = MakeBorrow(intent.group, intent.amount);
        request.set_request_id(intent.request_id);
        BorrowResponse response;
        grpc::Status s =
            env.Borrow(request, &response, std::chrono::seconds(5));
        std::lock_guard<std::mutex> lock(mu);
        (s.ok() ? answered_ok : answered_error)++;
      });
    }
    absl::SleepFor(absl::Milliseconds(
        rng() % 500));  // Early kills hit uncommitted intents.
    env.KillGateway(SIGKILL);
    ++kills;
    for (auto& c : clients) c.join();
    for (int i = 0; i < kBorrowsPerRound; ++i) intents.push_back(batch[i]);
    env.RestartGateway();
  }

  // Let reconciliation settle everything the kills left open.
  const CrashOutcome o = CheckIntentsAgainstLedger(
      intents,
      [&env](size_t, const std::string& id, absl::Time give_up) {
        return env.AwaitSettled(id, give_up);
      },
      [&env] { return env.State(); });
  std::printf(
      "crash test: %d rounds, %d SIGKILLs, %zu intents (+repeats), %d calls "
      "answered OK and %d "
      "with an error; final: %d executed, %d rejected, %d never journaled, %d "
      "settled by "
      "reconciliation; fake ledger %zu borrows, %lld complete requests "
      "received\n",
      kRounds, kills, intents.size(), answered_ok, answered_error, o.executed,
      o.rejected, o.not_journaled, o.reconciled, o.state.borrows.size(),
      static_cast<long long>(o.state.received_borrow));
}

// Every attempt the journal holds: (group, signed timestamp) -> request_id.
std::map<std::pair<int64_t, int64_t>, std::string> JournaledAttempts(
    const GatewayEnv& env) {
  std::map<std::pair<int64_t, int64_t>, std::string> out;
  for (const std::vector<std::string>& row : env.JournalRows(
           "SELECT group_id, signed_ms, request_id FROM attempts")) {
    out[{std::atoll(row[0].c_str()), std::atoll(row[1].c_str())}] = row[2];
  }
  return out;
}

// The same, with every borrow of a risk unit for the same amount (what a
// caller does after an UNKNOWN: borrow the same again) and faults that leave
// outcomes unknown whether or not Binance executed. The amount no longer
// tells borrows apart: only the execution windows of the journaled attempts
// can. The fake records each executed request's signed timestamp, so the
// test knows which attempt (and so which request_id) every Binance record
// really belongs to, and checks the journal gave it to exactly that one.
TEST(CrashTest, SameAmountsUnknownOutcomesAndKillsEveryRecordToItsOwner) {
  constexpr int kUnits = 2, kSameRounds = 4, kPerRound = 8;
  std::vector<std::string> fake_args = {"--uid-weight-limit", "1000000000"};
  for (int u = 0; u < kUnits; ++u) {
    fake_args.push_back("--risk-unit");
    fake_args.push_back(absl::StrCat(4001 + u, ":USDT=100000000"));
  }
  GatewayEnv env(
      {.fake_args = fake_args,
       .gateway_args = {
           "--uid_weight_limit=1000000000", "--recv_window_ms=1000",
           "--max_clock_uncertainty=400ms", "--reconcile_interval=200ms",
           "--reconcile_settle_after=2s", "--upstream_timeout=600ms"}});
  for (const char* fault :
       {R"({"probability":0.15,"status":503,"execute":true})",
        R"({"probability":0.15,"reset":"after_read","execute":false})",
        R"({"probability":0.10,"reset":"after_read","execute":true})",
        R"({"probability":0.10,"answer_delay_ms":900})"}) {
    env.InjectFault(fault);
  }
  const char* seed_env = std::getenv("LG_CRASH_SEED");
  const unsigned seed =
      seed_env ? static_cast<unsigned>(std::atoll(seed_env))
               : static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::printf("same-amount crash test seed %u (LG_CRASH_SEED replays it)\n",
              seed);
  std::mt19937 rng(seed);
  std::vector<Intent> intents;
  int kills = 0;
  for (int round = 0; round < kSameRounds; ++round) {
    std::vector<std::thread> clients;
    for (int i = 0; i < kPerRound; ++i) {
      const int n = round * kPerRound + i;
      Intent intent{absl::StrCat("00000000-0000-4000-a000-",
                                 absl::Dec(n, absl::kZeroPad12)),
                    4001 + n % kUnits, "100"};
      intents.push_back(intent);
      clients.emplace_back([&env, intent] {
        BorrowRequest request = MakeBorrow(intent.group, intent.amount);
        request.set_request_id(intent.request_id);
        BorrowResponse response;
        env.Borrow(request, &response, std::chrono::seconds(6));
      });
    }
    absl::SleepFor(absl::Milliseconds(500 + rng() % 2500));
    env.KillGateway(SIGKILL);
    ++kills;
    for (auto& c : clients) c.join();
    env.RestartGateway();
  }

  std::map<std::string, GetBorrowResponse> final_state;
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  int not_journaled = 0, reconciled = 0;
  for (const Intent& intent : intents) {
    GetBorrowResponse record;
    while (true) {
      grpc::Status s = env.GetBorrow(intent.request_id, &record);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        ++not_journaled;
        record.Clear();
        break;
      }
      const bool settled =
          s.ok() &&
          record.state() != institutional_loan::v1::BORROW_STATE_PENDING &&
          record.state() != institutional_loan::v1::BORROW_STATE_UNKNOWN;
      if (settled || absl::Now() > give_up) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (record.resolution() ==
        institutional_loan::v1::BORROW_RESOLUTION_RECONCILED) {
      ++reconciled;
    }
    final_state[intent.request_id] = record;
  }
  const FakeState state = env.State();
  const auto attempts = JournaledAttempts(env);
  // Binance's records, each with the request_id whose attempt it executed.
  std::map<std::string, std::string> owner_of;  // tran_id -> request_id
  for (const LedgerEntry& b : state.borrows) {
    auto it = attempts.find({b.group_id, b.signed_ms});
    ASSERT_NE(it, attempts.end())
        << "Binance executed a request the journal has no attempt for";
    owner_of[b.tran_id] = it->second;
  }
  std::map<std::string, int> executions;  // request_id -> records
  for (const auto& [tran_id, owner] : owner_of) ++executions[owner];
  int executed = 0;
  for (const Intent& intent : intents) {
    const GetBorrowResponse& r = final_state[intent.request_id];
    EXPECT_LE(executions[intent.request_id], 1)
        << intent.request_id << " executed twice";
    EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_UNKNOWN)
        << intent.request_id << " never settled";
    EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_PENDING)
        << intent.request_id << " never settled";
    if (r.state() == institutional_loan::v1::BORROW_STATE_SUCCEEDED) {
      ++executed;
      EXPECT_EQ(owner_of[r.transaction_id()], intent.request_id)
          << intent.request_id << " holds transaction " << r.transaction_id()
          << " that Binance executed for another request";
    } else {
      EXPECT_EQ(executions[intent.request_id], 0)
          << intent.request_id << " executed but the journal says "
          << r.state();
    }
  }
  EXPECT_EQ(static_cast<size_t>(executed), state.borrows.size());
  std::printf(
      "same-amount crash test: %d rounds, %d SIGKILLs, %zu intents of 100 "
      "USDT over %d risk units; final: %d executed (%zu Binance records, each "
      "with its owner), %d never journaled, %d settled by reconciliation\n",
      kSameRounds, kills, intents.size(), kUnits, executed,
      state.borrows.size(), not_journaled, reconciled);
}

}  // namespace
}  // namespace loan_gateway::testing
