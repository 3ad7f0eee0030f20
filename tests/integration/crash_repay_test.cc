// Crash test of both money operations: borrows and repays on the same risk
// units, random faults on both endpoints, SIGKILL at random moments and a
// restart on the same journal, round after round. Afterwards every
// request_id's final state matches the fake's ledgers exactly: no borrow or
// repay executed twice, none lost, each SUCCEEDED one holding its own
// transaction.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

using institutional_loan::v1::GetBorrowResponse;
using institutional_loan::v1::InstitutionalLoan;

constexpr int kRounds = 5;
constexpr int kOpsPerRound = 12;
constexpr int kUnits = 4;

struct Op {
  bool repay = false;
  std::string request_id;
  int64_t group = 0;
  std::string amount;  // Unique per operation and kind: maps to the ledger.
};

grpc::Status Send(GatewayEnv& env, const Op& op) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  // Null once the test killed the gateway: a client that starts after the
  // kill never reaches it (a stub on a null channel would crash the test).
  std::shared_ptr<grpc::Channel> live = env.channel();
  if (!live) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the gateway is down");
  }
  auto stub = InstitutionalLoan::NewStub(live);
  if (op.repay) {
    institutional_loan::v1::RepayRequest r;
    r.set_group_id(op.group);
    r.set_asset(institutional_loan::v1::ASSET_USDT);
    r.set_amount(op.amount);
    r.set_request_id(op.request_id);
    institutional_loan::v1::RepayResponse response;
    return stub->Repay(&context, r, &response);
  }
  institutional_loan::v1::BorrowRequest r = MakeBorrow(op.group, op.amount);
  r.set_request_id(op.request_id);
  institutional_loan::v1::BorrowResponse response;
  return stub->Borrow(&context, r, &response);
}

TEST(CrashTest, BorrowsAndRepaysUnderKillsMatchTheLedgersExactly) {
  std::vector<std::string> fake_args = {"--uid-weight-limit", "1000000000"};
  for (int u = 0; u < kUnits; ++u) {
    fake_args.push_back("--risk-unit");
    fake_args.push_back(absl::StrCat(3001 + u, ":USDT=100000000"));
  }
  GatewayEnv env(
      {.fake_args = fake_args,
       .gateway_args = {
           "--uid_weight_limit=1000000000", "--recv_window_ms=1000",
           "--max_clock_uncertainty=400ms", "--reconcile_interval=200ms",
           "--reconcile_settle_after=3s", "--upstream_timeout=2s",
           "--preflight_max_age=0s"}});
  // Enough owed on every unit that each repay is repaid in full: then a
  // repay's ledger entry carries the unique amount it asked.
  for (int u = 0; u < kUnits; ++u) {
    institutional_loan::v1::BorrowResponse response;
    ASSERT_TRUE(env.Borrow(MakeBorrow(3001 + u, "1000000"), &response).ok());
  }
  const size_t seed_borrows = env.State().borrows.size();
  for (const char* endpoint : {"borrow", "repay"}) {
    for (const char* fault :
         {R"("probability":0.12,"status":503,"execute":true)",
          R"("probability":0.10,"reset":"after_read","execute":true)",
          R"("probability":0.08,"reset":"after_read")",
          R"("probability":0.2,"delay_ms":250)"}) {
      env.InjectFault(
          absl::StrCat(R"({"endpoint":")", endpoint, R"(",)", fault, "}"));
    }
  }
  const char* seed_env = std::getenv("LG_CRASH_SEED");
  const unsigned seed =
      seed_env ? static_cast<unsigned>(std::atoll(seed_env))
               : static_cast<unsigned>(absl::ToUnixNanos(absl::Now()));
  std::printf("crash test seed %u (LG_CRASH_SEED=%u replays it)\n", seed, seed);
  std::mt19937 rng(seed);
  std::vector<Op> ops;
  int kills = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Op> batch;
    for (int i = 0; i < kOpsPerRound; ++i) {
      const int n = round * kOpsPerRound + i;
      const bool repay = rng() % 2 == 0;
      batch.push_back({repay,
                       absl::StrCat("00000000-0000-4000-a000-",
                                    absl::Dec(n, absl::kZeroPad12)),
                       3001 + n % kUnits,
                       absl::StrCat(n + 1, repay ? ".75" : ".25")});
    }
    std::vector<std::thread> clients;
    for (const Op& op : batch) {
      const int stagger_ms = static_cast<int>(rng() % 5);
      clients.emplace_back([&env, op, stagger_ms] {
        absl::SleepFor(absl::Milliseconds(stagger_ms));
        (void)Send(env, op);
      });
    }
    absl::SleepFor(absl::Milliseconds(rng() % 500));
    env.KillGateway(SIGKILL);
    ++kills;
    for (auto& c : clients) c.join();
    ops.insert(ops.end(), batch.begin(), batch.end());
    env.RestartGateway();
  }

  std::map<std::string, GetBorrowResponse> final_state;
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  for (const Op& op : ops) {
    final_state[op.request_id] = env.AwaitSettled(op.request_id, give_up);
  }
  const FakeState state = env.State();
  std::map<std::string, std::vector<std::string>> borrowed, repaid;
  for (size_t i = seed_borrows; i < state.borrows.size(); ++i) {
    borrowed[state.borrows[i].amount].push_back(state.borrows[i].tran_id);
  }
  for (const RepayEntry& r : state.repays) {
    EXPECT_EQ(r.amount, r.repaid) << "a repay was not repaid in full";
    repaid[r.amount].push_back(r.tran_id);
  }
  int executed_borrows = 0, executed_repays = 0, reconciled = 0;
  for (const Op& op : ops) {
    const GetBorrowResponse& r = final_state.at(op.request_id);
    auto& ledger = op.repay ? repaid : borrowed;
    const auto it = ledger.find(op.amount);
    const size_t times = it == ledger.end() ? 0 : it->second.size();
    EXPECT_LE(times, 1u) << op.request_id << " executed " << times << " times";
    if (r.resolution() ==
        institutional_loan::v1::BORROW_RESOLUTION_RECONCILED) {
      ++reconciled;
    }
    if (r.state() == institutional_loan::v1::BORROW_STATE_SUCCEEDED) {
      ++(op.repay ? executed_repays : executed_borrows);
      ASSERT_EQ(times, 1u) << op.request_id << " succeeded, not in the ledger";
      EXPECT_EQ(r.transaction_id(), it->second[0]) << op.request_id;
      EXPECT_EQ(r.kind(), op.repay
                              ? institutional_loan::v1::OPERATION_KIND_REPAY
                              : institutional_loan::v1::OPERATION_KIND_BORROW);
    } else {
      EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_UNKNOWN)
          << op.request_id << " never settled";
      EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_PENDING)
          << op.request_id << " never settled";
      EXPECT_EQ(times, 0u) << op.request_id << " executed, journal says "
                           << r.state();
    }
  }
  EXPECT_EQ(static_cast<size_t>(executed_borrows),
            state.borrows.size() - seed_borrows);
  EXPECT_EQ(static_cast<size_t>(executed_repays), state.repays.size());
  // Both operations ran (else this test would prove nothing of one).
  EXPECT_GT(executed_borrows, 0);
  EXPECT_GT(executed_repays, 0);
  std::printf(
      "crash test (borrow + repay): %d rounds, %d SIGKILLs, %zu operations; "
      "final: %d borrows and %d repays executed, %d settled by "
      "reconciliation; ledgers: %zu borrows, %zu repays\n",
      kRounds, kills, ops.size(), executed_borrows, executed_repays, reconciled,
      state.borrows.size() - seed_borrows, state.repays.size());
}

}  // namespace
}  // namespace loan_gateway::testing
