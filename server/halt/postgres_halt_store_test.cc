// The kill switch's row in the journal's database, on a real PostgreSQL the
// test starts: two gateways' stores see one halt, the first stands, a lift
// through either lifts it.
#include "halt/postgres_halt_store.h"

#include <csignal>
#include <memory>

#include "gtest/gtest.h"
#include "throwaway_postgres.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::testing::ThrowawayPostgres;

TEST(PostgresHaltStoreTest, OneHaltIsSharedByEveryGatewayOfTheDatabase) {
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> pg =
      ThrowawayPostgres::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  auto here = PostgresHaltStore::Open((*pg)->url(), "");
  auto there = PostgresHaltStore::Open((*pg)->url(), "");
  ASSERT_TRUE(here.ok()) << here.status();
  ASSERT_TRUE(there.ok()) << there.status();
  EXPECT_FALSE((*there)->Read()->has_value());

  const absl::Time at = absl::FromUnixMillis(1700000000123);
  absl::StatusOr<HaltRecord> written = (*here)->Write(
      {.by = "spiffe://lg/ops", .reason = "incident", .since = at});
  ASSERT_TRUE(written.ok()) << written.status();
  std::optional<HaltRecord> seen = *(*there)->Read();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->by, "spiffe://lg/ops");
  EXPECT_EQ(seen->reason, "incident");
  EXPECT_EQ(seen->since, at);
  absl::StatusOr<HaltRecord> second =
      (*there)->Write({.by = "other", .since = absl::Now()});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->by, "spiffe://lg/ops") << "the first halt stands";

  ASSERT_TRUE((*there)->Clear().ok());
  EXPECT_FALSE((*here)->Read()->has_value());
  ASSERT_TRUE((*pg)->Stop(SIGKILL).ok());
  EXPECT_FALSE((*here)->Read().ok()) << "unreadable, not \"not halted\"";
}

}  // namespace
}  // namespace loan_gateway
