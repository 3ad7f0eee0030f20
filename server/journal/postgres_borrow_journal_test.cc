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
#include "throwaway_postgres_fixture.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Intent;
using ::loan_gateway::testing::ThrowawayPostgres;

class PostgresBorrowJournalTest
    : public ::loan_gateway::testing::WithThrowawayPostgres {
 protected:
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

// One gateway writes at a time. Another on the same database is a standby:
// it reads, refuses every write naming the writer, and takes over as soon as
// the writer's session ends (the process died, its node was lost), with no
// volume to move.
TEST_F(PostgresBorrowJournalTest, ASecondGatewayIsAStandbyUntilTheWriterGoes) {
  auto writer = OpenJournal();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->InsertIntent(Intent("a")).ok());
  auto standby = OpenJournal();
  ASSERT_NE(standby, nullptr) << "a standby opens";
  EXPECT_TRUE(writer->CheckWriter().ok());
  absl::Status waiting = standby->CheckWriter();
  EXPECT_EQ(waiting.code(), absl::StatusCode::kUnavailable) << waiting;
  EXPECT_TRUE(absl::StrContains(waiting.message(), "standby")) << waiting;
  EXPECT_TRUE(absl::StrContains(waiting.message(), "pid"))
      << "it names the writer: " << waiting;
  EXPECT_TRUE((*standby->Get("a")).has_value()) << "it reads";
  EXPECT_EQ(standby->InsertIntent(Intent("b")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_FALSE(standby->SetNote("a", "x").ok());
  EXPECT_FALSE(standby->BeginAttempt({.request_id = "a", .signed_ms = 1}).ok());
  EXPECT_FALSE(standby->RecordOutcome("a", {.state = Outcome::kUnknown}).ok());
  EXPECT_FALSE(standby->PurgeSettledBefore(absl::Now()).ok());
  ASSERT_TRUE(standby->BeginGroup().ok()) << "a group of reads is fine";
  EXPECT_FALSE(standby->InsertIntent(Intent("b")).ok());
  EXPECT_TRUE(standby->CommitGroup().ok()) << "it holds nothing to commit";
  EXPECT_EQ(CommittedRows(), 1) << "nothing of the standby's";

  EndOtherSessions();  // The writer's session ends (so does the standby's).
  EXPECT_TRUE(standby->CheckWriter().ok()) << "it took over";
  EXPECT_EQ(standby->CountUnsettled(nullptr).unsettled, 1)
      << "what the old writer left unsettled is the new one's";
  ASSERT_TRUE(standby->InsertIntent(Intent("b")).ok());
  // The old writer, back, finds the lock taken: it writes nothing more.
  absl::StatusOr<std::optional<JournalRecord>> late =
      writer->InsertIntent(Intent("c"));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable)
      << late.status();
  EXPECT_TRUE(absl::StrContains(late.status().message(), "standby"))
      << late.status();
  EXPECT_FALSE(writer->CheckWriter().ok());
  EXPECT_FALSE((*standby->Get("c")).has_value());
  EXPECT_EQ(CommittedRows(), 2);
}

// Inside a transaction a lost session is never replaced silently: the
// statements after it would run on the new session outside the transaction
// and commit on their own.
TEST_F(PostgresBorrowJournalTest, ATransactionNeverContinuesOnANewSession) {
  auto db = PostgresConnection::Open(pg_->url());
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t (v INT)").ok());
  ASSERT_TRUE((*db)->Begin().ok());
  ASSERT_TRUE((*db)->Exec("INSERT INTO t VALUES (1)").ok());
  EndOtherSessions();
  EXPECT_FALSE((*db)->Exec("INSERT INTO t VALUES (2)").ok());
  EXPECT_FALSE((*db)->Exec("INSERT INTO t VALUES (3)").ok())
      << "not on a new session either";
  EXPECT_EQ((*db)->Commit().code(), absl::StatusCode::kUnavailable);
  auto rows = (*db)->Query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->At(0, 0), "0");
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
  auto second = OpenJournal();
  ASSERT_NE(second, nullptr);
  EXPECT_FALSE(second->CheckWriter().ok())
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
