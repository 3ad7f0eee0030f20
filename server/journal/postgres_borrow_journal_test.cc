// What only the PostgreSQL journal does: gateways writing one database side
// by side (records owned by live gateways, a risk unit's turn, the caps
// lock, the reconciliation lease: each by a lock that goes with its
// session), and a database that goes away and comes back. The rules both
// journals share are in borrow_journal_contract_test.cc.
#include "journal/postgres_borrow_journal.h"

#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
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
  // Two gateways' journals on the one database (null when either fails).
  std::pair<std::unique_ptr<PostgresBorrowJournal>,
            std::unique_ptr<PostgresBorrowJournal>>
  OpenTwoGateways() {
    auto a = OpenJournal();
    auto b = OpenJournal();
    if (a == nullptr || b == nullptr) return {nullptr, nullptr};
    return {std::move(a), std::move(b)};
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
  // A closed session's locks go when its server process has exited, a
  // moment after the client closed it: true once `done` holds (5 s at most).
  static bool Eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 100; ++i) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return done();
  }
  // Ends the one session holding `journal`'s replica lock (its gateway
  // lost its database connection for a moment, a restart say).
  void EndSessionOf(const PostgresBorrowJournal& journal) {
    auto admin = PostgresConnection::Open(pg_->url());
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_TRUE((*admin)
                    ->Exec(absl::StrCat(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                        "locktype = 'advisory' AND classid = 1819174775 AND "
                        "objsubid = 2 AND objid = ",
                        journal.replica_id()))
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

// Gateways write one database side by side. A PENDING record belongs to the
// gateway that journaled it while that gateway lives (its session holds its
// replica lock): another gateway sees it in flight elsewhere (a repeat
// there waits for it) and leaves it out of what it reconciles; once the
// owner is gone it is reconciliation's, with no clock and no guess.
TEST_F(PostgresBorrowJournalTest, APendingRecordIsItsLiveOwnersOnly) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->replica_id(), b->replica_id());
  EXPECT_TRUE(a->CheckWriter().ok());
  EXPECT_TRUE(b->CheckWriter().ok()) << "both write";
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  ASSERT_TRUE(b->InsertIntent(Intent("y")).ok());
  EXPECT_FALSE((*a->Get("x"))->in_flight_elsewhere);
  EXPECT_TRUE((*b->Get("x"))->in_flight_elsewhere);
  absl::StatusOr<std::optional<JournalRecord>> repeat =
      b->InsertIntent(Intent("x"));
  ASSERT_TRUE(repeat.ok() && repeat->has_value()) << repeat.status();
  EXPECT_TRUE((*repeat)->in_flight_elsewhere) << "the repeat follows it";
  auto ids = [](BorrowJournal& j) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<JournalRecord>> unsettled = j.Unsettled();
    EXPECT_TRUE(unsettled.ok()) << unsettled.status();
    if (!unsettled.ok()) return out;
    for (const JournalRecord& r : *unsettled) out.push_back(r.request_id);
    return out;
  };
  EXPECT_EQ(ids(*a), std::vector<std::string>{"x"});
  EXPECT_EQ(ids(*b), std::vector<std::string>{"y"});
  ASSERT_TRUE(a->RecordOutcome("x", {.state = Outcome::kUnknown}).ok());
  EXPECT_EQ(ids(*b), (std::vector<std::string>{"x", "y"}))
      << "an UNKNOWN outcome is reconciliation's, whoever wrote it";

  ASSERT_TRUE(b->InsertIntent(Intent("z")).ok());
  b.reset();  // Its process dies: PostgreSQL ends its session.
  EXPECT_TRUE(Eventually([&] { return !(*a->Get("z"))->in_flight_elsewhere; }));
  EXPECT_EQ(ids(*a), (std::vector<std::string>{"x", "y", "z"}));
}

// One operation of a risk unit at Binance at a time, across gateways: the
// turn is taken with the attempt's journal write and given back with its
// outcome's; a dead gateway's turn is free (its attempt, open, still makes
// the next one wait out its execution window).
TEST_F(PostgresBorrowJournalTest,
       ARiskUnitHasOneOperationAtATimeAcrossGateways) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  ASSERT_TRUE(b->InsertIntent(Intent("y")).ok());
  ASSERT_TRUE(a->BeginAttempt(journal_test::Attempt("x", now)).ok());
  absl::Status busy = b->BeginAttempt(journal_test::Attempt("y", now));
  EXPECT_TRUE(IsRiskUnitBusyElsewhere(busy)) << busy;
  EXPECT_TRUE(absl::StrContains(busy.message(), "pid")) << "names it: " << busy;
  EXPECT_TRUE((*b->Attempts("y")).empty()) << "nothing journaled";
  EXPECT_FALSE(b->LatestOpenWindowEnd(1001, "y")->has_value())
      << "in flight elsewhere: its outcome, not its window, is waited for";
  EXPECT_TRUE(
      b->BeginAttempt(journal_test::Attempt("y", now, /*group=*/1002)).ok())
      << "another risk unit is free";
  ASSERT_TRUE(b->RecordOutcome("y", {.state = Outcome::kRejected}).ok());
  ASSERT_TRUE(a->RecordOutcome(
                   "x", {.state = Outcome::kSucceeded, .transaction_id = "1"})
                  .ok());
  ASSERT_TRUE(b->InsertIntent(Intent("y2")).ok());
  ASSERT_TRUE(b->BeginAttempt(journal_test::Attempt("y2", now)).ok())
      << "given back with the outcome";
  ASSERT_TRUE(a->InsertIntent(Intent("x2")).ok());
  EXPECT_TRUE(IsRiskUnitBusyElsewhere(
      a->BeginAttempt(journal_test::Attempt("x2", now))));

  b.reset();  // Dies with its request at Binance.
  EXPECT_TRUE(Eventually(
      [&] { return a->LatestOpenWindowEnd(1001, "x2")->has_value(); }));
  EXPECT_EQ(a->LatestOpenWindowEnd(1001, "x2")->value_or(0), now + 5000)
      << "a dead gateway's attempt may have executed: its window counts";
  EXPECT_TRUE(a->BeginAttempt(journal_test::Attempt("x2", now)).ok());
}

// A live gateway that looked dead for a moment (its session lost) cannot
// sign a record that reconciliation elsewhere took meanwhile: reconciliation
// takes it, committed, before it reads the attempts, and the owner back finds
// it no longer its own ("never signed" stays true).
TEST_F(PostgresBorrowJournalTest, ReconciliationTakesADeadOwnersRecordFirst) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  EndSessionOf(*a);
  ASSERT_TRUE(Eventually([&] { return !(*b->Get("x"))->in_flight_elsewhere; }));
  absl::StatusOr<std::vector<JournalRecord>> unsettled = b->Unsettled();
  ASSERT_TRUE(unsettled.ok() && unsettled->size() == 1) << unsettled.status();
  absl::Status sent = a->BeginAttempt(
      journal_test::Attempt("x", absl::ToUnixMillis(absl::Now())));
  EXPECT_EQ(sent.code(), absl::StatusCode::kFailedPrecondition) << sent;
  EXPECT_TRUE(a->writer()) << "back, and alive again";
  EXPECT_TRUE((*b->Attempts("x")).empty()) << "nothing to sign was journaled";
  EXPECT_TRUE(
      b->RecordOutcome("x", {.state = Outcome::kRejected, .reconciled = true})
          .ok());
}

// A call whose outcome could not be written is no longer worked on: its
// gateway hands the record to reconciliation, and the turn it held is free.
TEST_F(PostgresBorrowJournalTest, AnAbandonedRecordIsReleased) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  const int64_t now = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  ASSERT_TRUE(a->InsertIntent(Intent("w")).ok());
  ASSERT_TRUE(a->BeginAttempt(journal_test::Attempt("x", now)).ok());
  ASSERT_TRUE(a->ReleaseAbandoned([](const std::string& id) {
                 return id == "w";
               }).ok());
  EXPECT_FALSE((*b->Get("x"))->in_flight_elsewhere) << "released";
  EXPECT_TRUE((*b->Get("w"))->in_flight_elsewhere) << "still worked on";
  ASSERT_TRUE(b->InsertIntent(Intent("y")).ok());
  EXPECT_TRUE(b->BeginAttempt(journal_test::Attempt("y", now)).ok())
      << "the turn of a record nobody works on is free";
}

// Reconciliation and the purge: one gateway at a time, the next one takes
// over when the holder's session ends.
TEST_F(PostgresBorrowJournalTest, OneGatewayAtATimeLeadsReconciliation) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(*a->TryLeadReconciliation());
  EXPECT_FALSE(*b->TryLeadReconciliation());
  EXPECT_TRUE(*a->TryLeadReconciliation()) << "it keeps it";
  a.reset();
  EXPECT_TRUE(Eventually([&] { return *b->TryLeadReconciliation(); }));
}

// Two gateways checking one caller's caps take turns, each to the commit
// of its group (which holds the intent the check let in).
TEST_F(PostgresBorrowJournalTest, CapsChecksOfOneCallerTakeTurns) {
  auto [a, b] = OpenTwoGateways();
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(a->LockCallerCaps("c", "USDT").ok())
      << "outside a group the lock would not cover the intent";
  ASSERT_TRUE(a->BeginGroup().ok());
  ASSERT_TRUE(a->LockCallerCaps("c", "USDT").ok());
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  absl::Notification b_locked;
  absl::Status b_status;
  std::thread other([&] {
    ASSERT_TRUE(b->BeginGroup().ok());
    b_status = b->LockCallerCaps("c", "USDT");
    b_locked.Notify();
    if (b_status.ok()) {
      // It sees what the first check let in.
      b_status =
          b->CallerBorrowsSince("test", "USDT", absl::UnixEpoch())->size() == 1
              ? absl::OkStatus()
              : absl::InternalError("the first intent is not seen");
    }
    EXPECT_TRUE(b->CommitGroup().ok());
  });
  EXPECT_FALSE(b_locked.WaitForNotificationWithTimeout(absl::Milliseconds(300)))
      << "the second check waits";
  ASSERT_TRUE(a->CommitGroup().ok());
  other.join();
  EXPECT_TRUE(b_status.ok()) << b_status;
}

// A gateway whose session was lost while the database still keeps the old
// one (a partition it has not noticed) cannot prove it is alive: it writes
// nothing until the old session ends, then goes on under the same id.
TEST_F(PostgresBorrowJournalTest,
       AGatewayWritesNothingWhileItsOldSessionLingers) {
  auto a = OpenJournal();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->InsertIntent(Intent("x")).ok());
  const int32_t id = a->replica_id();
  EndOtherSessions();
  auto lingering = PostgresConnection::Open(pg_->url());
  ASSERT_TRUE(lingering.ok());
  ASSERT_TRUE(
      (*lingering)
          ->Exec(absl::StrCat("SELECT pg_advisory_lock(1819174775, ", id, ")"))
          .ok());
  absl::StatusOr<std::optional<JournalRecord>> refused =
      a->InsertIntent(Intent("y"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable)
      << refused.status();
  EXPECT_FALSE(a->CheckWriter().ok());
  EXPECT_FALSE(a->writer());
  lingering->reset();  // PostgreSQL ends the old session at last.
  EXPECT_TRUE(Eventually([&] { return a->CheckWriter().ok(); }));
  EXPECT_EQ(a->replica_id(), id) << "its records carry that id";
  EXPECT_TRUE(a->InsertIntent(Intent("y")).ok());
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
  EXPECT_TRUE((*second->Get("b"))->in_flight_elsewhere)
      << "its replica lock was taken again with the new session";
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
