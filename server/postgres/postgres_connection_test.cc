#include "postgres/postgres_connection.h"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "throwaway_postgres_fixture.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::testing::ThrowawayPostgres;

class PostgresConnectionTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
  void SetUp() override {
    WithThrowawayPostgres::SetUp();
    if (HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<PostgresConnection>> opened =
        PostgresConnection::Open(pg_->url());
    ASSERT_TRUE(opened.ok()) << opened.status();
    db_ = *std::move(opened);
    ASSERT_TRUE(db_->Exec("CREATE TABLE borrows (request_id TEXT PRIMARY KEY, "
                          "amount NUMERIC NOT NULL, note TEXT)")
                    .ok());
  }
  std::unique_ptr<PostgresConnection> db_;
};

TEST_F(PostgresConnectionTest, AmountsGoInAndComeBackAsExactDecimalText) {
  absl::StatusOr<PostgresRows> inserted =
      db_->Exec("INSERT INTO borrows VALUES ($1, $2, NULL)",
                {"r-1", "12345678901234567890.123456789"});
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->affected(), 1);
  absl::StatusOr<PostgresRows> read = db_->Exec(
      "SELECT amount, note FROM borrows WHERE request_id = $1", {"r-1"});
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 1);
  EXPECT_EQ(read->At(0, 0), "12345678901234567890.123456789");
  EXPECT_EQ(read->At(0, 1), std::nullopt);
}

// The server ends a vanished gateway's session (and frees its locks) within
// seconds: the session asks for short server-side keepalives.
TEST_F(PostgresConnectionTest, TheServerDropsADeadClientWithinSeconds) {
  absl::StatusOr<PostgresRows> idle = db_->Exec("SHOW tcp_keepalives_idle");
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->At(0, 0), "5");
  absl::StatusOr<PostgresRows> timeout = db_->Exec("SHOW tcp_user_timeout");
  ASSERT_TRUE(timeout.ok()) << timeout.status();
  EXPECT_EQ(timeout->At(0, 0), "10000");  // Milliseconds.
  // And a COMMIT answered is durable, whatever the role's defaults.
  absl::StatusOr<PostgresRows> sync = db_->Exec("SHOW synchronous_commit");
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_EQ(sync->At(0, 0), "on");
}

TEST_F(PostgresConnectionTest, AUniqueKeyConflictIsAlreadyExists) {
  ASSERT_TRUE(db_->Exec("INSERT INTO borrows VALUES ('r-1', 1, NULL)").ok());
  absl::StatusOr<PostgresRows> again =
      db_->Exec("INSERT INTO borrows VALUES ('r-1', 2, NULL)");
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  EXPECT_TRUE(absl::StrContains(again.status().message(), "23505"));
}

TEST_F(PostgresConnectionTest, ABrokenStatementIsInternalNotUnavailable) {
  absl::StatusOr<PostgresRows> broken = db_->Exec("SELEC 1");
  EXPECT_TRUE(absl::IsInternal(broken.status())) << broken.status();
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "42601"));
}

TEST_F(PostgresConnectionTest, ADeadlockIsAbortedForTheCallerToRetry) {
  absl::StatusOr<std::unique_ptr<PostgresConnection>> other =
      PostgresConnection::Open(pg_->url());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(db_->Exec("INSERT INTO borrows VALUES ('a', 1, NULL), "
                        "('b', 1, NULL)")
                  .ok());
  // Each session locks one row, then asks for the other's: PostgreSQL's
  // deadlock detector ends one of them (40P01) after deadlock_timeout (1 s).
  ASSERT_TRUE(db_->Exec("BEGIN").ok());
  ASSERT_TRUE((*other)->Exec("BEGIN").ok());
  ASSERT_TRUE(
      db_->Exec("UPDATE borrows SET note = 'x' WHERE request_id = 'a'").ok());
  ASSERT_TRUE((*other)
                  ->Exec("UPDATE borrows SET note = 'y' WHERE request_id = 'b'")
                  .ok());
  // The second half must run concurrently: the first session's update
  // blocks until the other one's ends.
  absl::Status first;
  std::thread waiter([&] {
    first = db_->Exec("UPDATE borrows SET note = 'x' WHERE request_id = 'b'")
                .status();
  });
  const absl::Status second =
      (*other)
          ->Exec("UPDATE borrows SET note = 'y' WHERE request_id = 'a'")
          .status();
  if (!second.ok()) (void)(*other)->Exec("ROLLBACK");
  waiter.join();
  const absl::Status& loser = second.ok() ? first : second;
  EXPECT_TRUE(absl::IsAborted(loser)) << loser;
  EXPECT_TRUE(absl::StrContains(loser.message(), "40P01"));
}

TEST_F(PostgresConnectionTest,
       ALostServerIsUnavailableThenTheNextStatementReconnects) {
  ASSERT_TRUE(db_->Exec("INSERT INTO borrows VALUES ('kept', 1, NULL)").ok());
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  absl::StatusOr<PostgresRows> down = db_->Exec("SELECT count(*) FROM borrows");
  EXPECT_TRUE(absl::IsUnavailable(down.status())) << down.status();
  EXPECT_FALSE(
      absl::StrContains(down.status().message(), "throwaway-test-password"));
  absl::StatusOr<PostgresRows> still_down = db_->Exec("SELECT 1");
  EXPECT_TRUE(absl::IsUnavailable(still_down.status())) << still_down.status();
  ASSERT_TRUE(pg_->Restart().ok());
  absl::StatusOr<PostgresRows> back = db_->Exec("SELECT count(*) FROM borrows");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->At(0, 0), "1");
  EXPECT_TRUE(db_->connected());
}

TEST(PostgresConnectionOpenTest, AWrongPasswordIsUnavailableAndNotEchoed) {
  absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> pg =
      ThrowawayPostgres::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  const std::string url =
      "postgres://loan_gateway:not-the-password-s3cr3t@127.0.0.1:" +
      std::to_string((*pg)->port()) + "/loan_gateway";
  absl::StatusOr<std::unique_ptr<PostgresConnection>> opened =
      PostgresConnection::Open(url);
  EXPECT_TRUE(absl::IsUnavailable(opened.status())) << opened.status();
  EXPECT_FALSE(
      absl::StrContains(opened.status().message(), "not-the-password-s3cr3t"));
  EXPECT_TRUE(
      absl::StrContains(opened.status().message(), "authentication failed"));
}

// Replicas starting together on an empty database each make the tables
// they need: under ExecSchema's lock none of them fails (without it,
// concurrent CREATE TABLE IF NOT EXISTS collides in PostgreSQL's catalog).
TEST_F(PostgresConnectionTest, ReplicasMakingTablesTogetherNeverCollide) {
  std::vector<std::unique_ptr<PostgresConnection>> replicas;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<PostgresConnection>> opened =
        PostgresConnection::Open(pg_->url());
    ASSERT_TRUE(opened.ok()) << opened.status();
    replicas.push_back(*std::move(opened));
  }
  for (int round = 0; round < 15; ++round) {
    const std::string table = absl::StrCat("made_", round);
    std::vector<absl::Status> made(replicas.size());
    std::vector<std::thread> starts;
    for (size_t i = 0; i < replicas.size(); ++i) {
      starts.emplace_back([&, i] {
        made[i] = replicas[i]->ExecSchema(absl::StrCat(
            "CREATE TABLE IF NOT EXISTS ", table, " (id INTEGER PRIMARY KEY)"));
      });
    }
    for (std::thread& t : starts) t.join();
    for (const absl::Status& s : made) EXPECT_TRUE(s.ok()) << s;
  }
}

}  // namespace
}  // namespace loan_gateway
