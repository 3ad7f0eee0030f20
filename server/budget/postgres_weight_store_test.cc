// The credit account's UID weight counted once for every gateway of a
// journal's database, on a real PostgreSQL the test starts.
#include "budget/postgres_weight_store.h"

#include <csignal>
#include <memory>

#include "budget/weight_budget.h"
#include "errors/error_details.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"
#include "throwaway_postgres_fixture.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ManualClock;

// Whole minutes from here: a fresh count.
const absl::Time kStart = absl::FromUnixSeconds(1'700'000'040);

class PostgresWeightStoreTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
  std::unique_ptr<PostgresWeightStore> OpenStore() {
    auto store = PostgresWeightStore::Open(pg_->url(), "");
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  // Two gateways' budgets, 3 borrows' weight a minute, on one count.
  struct Gateways {
    explicit Gateways(PostgresWeightStoreTest& test)
        : here_store(test.OpenStore()),
          there_store(test.OpenStore()),
          here(clock, 9000, 3000, WeightBudget::Scope::kUid, here_store.get()),
          there(clock, 9000, 3000, WeightBudget::Scope::kUid,
                there_store.get()) {}
    ManualClock clock{kStart};
    std::unique_ptr<PostgresWeightStore> here_store;
    std::unique_ptr<PostgresWeightStore> there_store;
    WeightBudget here;
    WeightBudget there;
  };
};

// Three borrows' weight a minute between two gateways: the third
// reservation, wherever it is asked, is the last; a new minute starts over.
TEST_F(PostgresWeightStoreTest, TwoGatewaysShareOneMinutesWeight) {
  Gateways g(*this);
  ASSERT_NE(g.here_store, nullptr);
  ASSERT_NE(g.there_store, nullptr);
  EXPECT_TRUE(g.here.TryReserve().ok());
  EXPECT_TRUE(g.there.TryReserve().ok());
  EXPECT_TRUE(g.there.CheckRoom().ok()) << "a dry run takes nothing";
  EXPECT_TRUE(g.here.TryReserve().ok());
  absl::Status spent = g.there.TryReserve();
  EXPECT_EQ(spent.code(), absl::StatusCode::kResourceExhausted) << spent;
  EXPECT_NE(spent.message().find("9000 of 9000"), std::string::npos) << spent;
  EXPECT_FALSE(g.here.CheckRoom().ok());
  EXPECT_EQ(g.there.used(), 9000) << "its count mirrors the shared one";
  g.clock.now += absl::Minutes(1);
  EXPECT_TRUE(g.there.TryReserve().ok()) << "a new minute";
}

// What Binance reported to one gateway (its count includes every user of
// the key) is carried into the shared count with that gateway's next
// reservation.
TEST_F(PostgresWeightStoreTest, BinancesCountRaisesTheSharedOne) {
  Gateways g(*this);
  g.here.ObserveUsed(3000);  // Another user of the key spent a borrow's worth.
  EXPECT_TRUE(g.here.TryReserve().ok());
  EXPECT_TRUE(g.there.TryReserve().ok());
  EXPECT_FALSE(g.there.TryReserve().ok()) << "3000 + 3000 + 3000 used";
}

// A call that waits for another gateway's turn of a risk unit reserves and
// gives back on every try: what it gives back leaves the shared count with
// its next reservation, so waiting never spends the account's weight.
TEST_F(PostgresWeightStoreTest, WeightGivenBackLeavesTheSharedCount) {
  Gateways g(*this);
  for (int tries = 0; tries < 100; ++tries) {
    ASSERT_TRUE(g.here.TryReserve().ok()) << "try " << tries;
    g.here.Release();
  }
  EXPECT_TRUE(g.here.TryReserve().ok());
  EXPECT_TRUE(g.there.TryReserve().ok());
  EXPECT_TRUE(g.there.TryReserve().ok()) << "3 borrows' weight, no more";
  EXPECT_FALSE(g.there.TryReserve().ok());
  EXPECT_FALSE(g.here.TryReserve().ok());
}

// The database away: nothing is reserved, so nothing is sent.
TEST_F(PostgresWeightStoreTest, AnUnreadableCountRefusesTheReservation) {
  auto store = OpenStore();
  ManualClock clock(kStart);
  WeightBudget budget(clock, 9000, 3000, WeightBudget::Scope::kUid,
                      store.get());
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  absl::Status refused = budget.TryReserve();
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  ASSERT_TRUE(pg_->Restart().ok());
  absl::Status back = budget.TryReserve();
  EXPECT_TRUE(back.ok()) << "back by itself: " << back;
}

}  // namespace
}  // namespace loan_gateway
