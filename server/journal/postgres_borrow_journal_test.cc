// What only the PostgreSQL journal does: one writer per database by a
// session lock that goes with its session, and a database that goes away
// and comes back. The rules both journals share are in
// borrow_journal_contract_test.cc.
#include "journal/postgres_borrow_journal.h"

#include <csignal>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "journal/journal_test_records.h"
#include "postgres/postgres_connection.h"
#include "throwaway_postgres.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Intent;
using ::loan_gateway::testing::ThrowawayPostgres;

class PostgresBorrowJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ThrowawayPostgres>> started =
        ThrowawayPostgres::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    pg_ = *std::move(started);
  }
  std::unique_ptr<PostgresBorrowJournal> OpenJournal() {
    auto opened =
        PostgresBorrowJournal::Open(pg_->url(), {.create_if_missing = true});
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }
  // Ends every session of the journal's database but the caller's, as a
  // crashed replica's or a failed-over database's would end.
  void EndOtherSessions() {
    auto admin = PostgresConnection::Open(pg_->url());
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_TRUE((*admin)
                    ->Exec("SELECT pg_terminate_backend(pid) FROM "
                           "pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()")
                    .ok());
  }
  int64_t CommittedRows() {
    auto other = PostgresConnection::Open(pg_->url());
    if (!other.ok()) return -1;
    auto rows = (*other)->Exec("SELECT COUNT(*) FROM borrows");
    return rows.ok() ? std::atoll(rows->At(0, 0).value_or("-1").c_str()) : -1;
  }

  std::unique_ptr<ThrowawayPostgres> pg_;
};

TEST_F(PostgresBorrowJournalTest,
       ADatabaseWithoutAJournalIsSetUpOnlyWhenAsked) {
  auto refused = PostgresBorrowJournal::Open(pg_->url());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--create_journal"))
      << refused.status();
  auto first = OpenJournal();
  ASSERT_NE(first, nullptr);
  first.reset();
  EXPECT_TRUE(PostgresBorrowJournal::Open(pg_->url()).ok())
      << "once made, it opens without the flag";
}

// One gateway writes at a time; the next one takes over as soon as the
// holder's session ends (the process died, its node was lost), with no
// volume to move.
TEST_F(PostgresBorrowJournalTest, OneGatewayWritesAtATimeAndAnotherTakesOver) {
  auto holder = OpenJournal();
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->InsertIntent(Intent("a")).ok());
  auto second = PostgresBorrowJournal::Open(pg_->url());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(second.status().message(), "in use by"))
      << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(), "pid"))
      << "it names the holder: " << second.status();

  EndOtherSessions();  // The holder's session ends (its process died).
  auto next = PostgresBorrowJournal::Open(pg_->url());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE((*next)->Get("a")->has_value()) << "nothing was lost";
  // The old holder, back, finds the lock taken: it writes nothing more.
  absl::StatusOr<std::optional<JournalRecord>> late =
      holder->InsertIntent(Intent("b"));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable)
      << late.status();
  EXPECT_TRUE(absl::StrContains(late.status().message(), "in use by"))
      << late.status();
  EXPECT_FALSE((*next)->Get("b")->has_value());
}

// A session lost between statements: the next write reconnects by itself,
// takes the lock again, and nothing is written twice.
TEST_F(PostgresBorrowJournalTest, ALostSessionIsReopenedByTheNextWrite) {
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->InsertIntent(Intent("a")).ok());
  EndOtherSessions();
  absl::StatusOr<std::optional<JournalRecord>> next =
      journal->InsertIntent(Intent("b"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(CommittedRows(), 2);
  EXPECT_FALSE(PostgresBorrowJournal::Open(pg_->url()).ok())
      << "the lock was taken again with the new session";
}

// A group whose session is lost commits nothing, and says so: its intents
// were never durable, so nothing of it may be signed.
TEST_F(PostgresBorrowJournalTest, AGroupThatLostItsSessionCommitsNothing) {
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->BeginGroup().ok());
  ASSERT_TRUE(journal->InsertIntent(Intent("a")).ok());
  EndOtherSessions();
  EXPECT_FALSE(journal->InsertIntent(Intent("b")).ok());
  absl::Status committed = journal->CommitGroup();
  EXPECT_EQ(committed.code(), absl::StatusCode::kUnavailable) << committed;
  EXPECT_EQ(CommittedRows(), 0);
  EXPECT_EQ(journal->CountUnsettled(nullptr).unsettled, 0)
      << "the index follows storage, not the lost group";
  EXPECT_TRUE(journal->InsertIntent(Intent("a")).ok()) << "and it goes on";
  EXPECT_EQ(CommittedRows(), 1);
}

// The database restarted: writes fail UNAVAILABLE while it is down (the
// gateway refuses with JOURNAL_UNAVAILABLE, nothing signed) and succeed
// again once it is back, without restarting the gateway.
TEST_F(PostgresBorrowJournalTest, ADatabaseRestartIsUnavailableThenRecovered) {
  auto journal = OpenJournal();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(pg_->Stop(SIGKILL).ok());
  absl::StatusOr<std::optional<JournalRecord>> down =
      journal->InsertIntent(Intent("b"));
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable)
      << down.status();
  EXPECT_FALSE(
      absl::StrContains(down.status().message(), "throwaway-test-password"));
  ASSERT_TRUE(pg_->Restart().ok());
  absl::StatusOr<std::optional<JournalRecord>> back =
      journal->InsertIntent(Intent("b"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(journal->Get("a")->has_value()) << "committed before the crash";
  EXPECT_EQ(CommittedRows(), 2);
}

}  // namespace
}  // namespace loan_gateway
