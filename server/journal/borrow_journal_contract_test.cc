// The journal's contract, run against both journals (issue 16): the
// embedded SQLite one and the PostgreSQL one on a real server the test
// starts (tests/postgres/throwaway_postgres.h). What only one of them does
// (a file's lock and mode, a database's lost session) is tested beside it.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "journal/journal_test_records.h"
#include "journal/postgres_borrow_journal.h"
#include "journal/sqlite_borrow_journal.h"
#include "postgres/postgres_connection.h"
#include "throwaway_postgres.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Attempt;
using ::loan_gateway::journal_test::Intent;
using ::loan_gateway::testing::ThrowawayPostgres;

// Where a test's journal lives: opened again on the same storage by each
// Open, and read by another connection (a restart, an operator's client).
class JournalStorage {
 public:
  virtual ~JournalStorage() = default;
  virtual absl::StatusOr<std::unique_ptr<BorrowJournal>> Open() = 0;
  // Rows in borrows as a second connection reads them: only committed ones.
  virtual int64_t CommittedRows() = 0;
};

class SqliteStorage : public JournalStorage {
 public:
  SqliteStorage() {
    // A parametrised test's name has a '/' in it.
    std::string name = absl::StrCat(
        "journal_contract_", getpid(), "_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = (std::filesystem::temp_directory_path() / name).string();
  }
  ~SqliteStorage() override {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }
  absl::StatusOr<std::unique_ptr<BorrowJournal>> Open() override {
    auto opened = SqliteBorrowJournal::Open(path_, {.create_if_missing = true});
    if (!opened.ok()) return opened.status();
    return std::unique_ptr<BorrowJournal>(*std::move(opened));
  }
  int64_t CommittedRows() override {
    sqlite3* other = nullptr;
    int64_t rows = -1;
    if (sqlite3_open_v2(path_.c_str(), &other, SQLITE_OPEN_READONLY, nullptr) ==
        SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(other, "SELECT COUNT(*) FROM borrows", -1, &stmt,
                             nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        rows = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(other);
    return rows;
  }

 private:
  std::string path_;
};

// One server for the whole binary (starting one costs a second), a fresh
// database for each test; stopped and removed when the binary exits.
class PostgresStorage : public JournalStorage {
 public:
  PostgresStorage() {
    static std::atomic<int> databases{0};
    absl::StatusOr<std::string> url =
        ThrowawayPostgres::Shared().CreateDatabase(
            absl::StrCat("journal_", ++databases));
    EXPECT_TRUE(url.ok()) << url.status();
    url_ = url.value_or("");
  }
  absl::StatusOr<std::unique_ptr<BorrowJournal>> Open() override {
    auto opened =
        PostgresBorrowJournal::Open(url_, {.create_if_missing = true});
    if (!opened.ok()) return opened.status();
    return std::unique_ptr<BorrowJournal>(*std::move(opened));
  }
  int64_t CommittedRows() override {
    auto other = PostgresConnection::Open(url_);
    if (!other.ok()) return -1;
    auto rows = (*other)->Exec("SELECT COUNT(*) FROM borrows");
    return rows.ok() ? std::atoll(rows->At(0, 0).value_or("-1").c_str()) : -1;
  }

 private:
  std::string url_;
};

class BorrowJournalContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      backend_ = std::make_unique<SqliteStorage>();
    } else {
      backend_ = std::make_unique<PostgresStorage>();
    }
    Reopen();
  }
  void TearDown() override { journal_.reset(); }
  void Reopen() {
    journal_.reset();
    auto opened = backend_->Open();
    ASSERT_TRUE(opened.ok()) << opened.status();
    journal_ = *std::move(opened);
  }
  void Add(const std::string& id, const std::string& caller,
           const std::string& asset, const std::string& amount,
           absl::Time created) {
    JournalRecord r = Intent(id, amount);
    r.caller = caller;
    r.asset = asset;
    r.created = created;
    ASSERT_TRUE(journal_->InsertIntent(r).ok());
  }

  std::unique_ptr<JournalStorage> backend_;
  std::unique_ptr<BorrowJournal> journal_;
};

INSTANTIATE_TEST_SUITE_P(Journals, BorrowJournalContractTest,
                         ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(BorrowJournalContractTest, IntentSurvivesReopenAndOutcomeIsRecorded) {
  auto inserted = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(inserted.ok());
  EXPECT_FALSE(inserted->has_value()) << "new intent";
  Reopen();
  auto record = journal_->Get("a");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->state, Outcome::kPending);
  EXPECT_EQ((*record)->amount, "10");
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .transaction_id = "9007199254740993"})
                  .ok());
  record = journal_->Get("a");
  EXPECT_EQ((*record)->state, Outcome::kSucceeded);
  EXPECT_EQ((*record)->transaction_id, "9007199254740993");
  EXPECT_TRUE(*journal_->TransactionClaimed("9007199254740993"));
  EXPECT_FALSE(*journal_->TransactionClaimed("1"));
}

TEST_P(BorrowJournalContractTest, RepeatReturnsTheExistingRecord) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  auto again = journal_->InsertIntent(Intent("a", "99"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->amount, "10") << "the first intent stands";
}

// A retryable rejection is tried again by its own caller only: another caller
// repeating the request_id gets the record (for a refusal), never a new
// attempt under the first caller's name.
TEST_P(BorrowJournalContractTest, OnlyARetryableRejectionMayBeTriedAgain) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kRejected,
                                        .retryable = true,
                                        .error = "e"})
                  .ok());
  JournalRecord other = Intent("a");
  other.caller = "another";
  auto refused = journal_->InsertIntent(other);
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused->has_value()) << "the record, not a new attempt";
  EXPECT_EQ((*refused)->caller, "test");
  EXPECT_EQ((*journal_->Get("a"))->state, Outcome::kRejected);
  auto retry = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->has_value()) << "back to PENDING for another attempt";
  EXPECT_EQ((*journal_->Get("a"))->state, Outcome::kPending);
  ASSERT_TRUE(
      journal_->RecordOutcome("a", {.state = Outcome::kUnknown, .error = "e"})
          .ok());
  auto unknown = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(unknown->has_value())
      << "an unknown outcome is never attempted again";
  EXPECT_EQ((*unknown)->state, Outcome::kUnknown);
}

TEST_P(BorrowJournalContractTest, UnsettledListsPendingAndUnknownOnly) {
  for (const char* id : {"p", "u", "s", "r"})
    ASSERT_TRUE(journal_->InsertIntent(Intent(id)).ok());
  ASSERT_TRUE(journal_->RecordOutcome("u", {.state = Outcome::kUnknown}).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("s", {.state = Outcome::kSucceeded,
                                        .transaction_id = "7"})
                  .ok());
  ASSERT_TRUE(journal_->RecordOutcome("r", {.state = Outcome::kRejected}).ok());
  auto unsettled = journal_->Unsettled();
  ASSERT_TRUE(unsettled.ok());
  std::vector<std::string> ids;
  for (const auto& r : *unsettled) ids.push_back(r.request_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p", "u"}));
  EXPECT_EQ(*journal_->PurgeSettledBefore(absl::Now() + absl::Seconds(1)), 2);
  EXPECT_FALSE(journal_->Get("s")->has_value());
  EXPECT_TRUE(journal_->Get("u")->has_value())
      << "unsettled records are never purged";
}

TEST_P(BorrowJournalContractTest,
       AGroupsWritesAreCommittedTogetherByItsCommit) {
  ASSERT_TRUE(journal_->BeginGroup().ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  EXPECT_EQ(backend_->CommittedRows(), 0)
      << "nothing is durable before the commit";
  ASSERT_TRUE(journal_->CommitGroup().ok());
  EXPECT_EQ(backend_->CommittedRows(), 2);
  EXPECT_EQ(journal_->CountUnsettled(nullptr).unsettled, 2);
}

TEST_P(BorrowJournalContractTest, AWriteThatFailsInAGroupUndoesOnlyItself) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  ASSERT_TRUE(journal_->BeginGroup().ok());
  ASSERT_TRUE(journal_->BeginAttempt({.request_id = "a", .signed_ms = 1}).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .transaction_id = "77"})
                  .ok());
  // Two direct answers naming one transaction: the second write is refused,
  // and undone alone; the group's other writes stand.
  EXPECT_FALSE(journal_
                   ->RecordOutcome("b", {.state = Outcome::kSucceeded,
                                         .transaction_id = "77"})
                   .ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("c")).ok());
  ASSERT_TRUE(journal_->CommitGroup().ok());
  Reopen();
  EXPECT_EQ((*journal_->Get("a"))->state, Outcome::kSucceeded);
  EXPECT_EQ((*journal_->Get("b"))->state, Outcome::kPending);
  EXPECT_TRUE(journal_->Get("c")->has_value());
  EXPECT_EQ((*journal_->Attempts("a"))[0].state, AttemptState::kExecuted);
}

TEST_P(BorrowJournalContractTest, OtherThreadsReadOnlyWhatAGroupCommitted) {
  ASSERT_TRUE(journal_->BeginGroup().ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  absl::Notification read;
  absl::StatusOr<std::optional<JournalRecord>> seen;
  std::thread reader([&] {
    seen = journal_->Get("a");
    read.Notify();
  });
  EXPECT_FALSE(read.WaitForNotificationWithTimeout(absl::Milliseconds(100)))
      << "a reader must wait for the group's commit";
  ASSERT_TRUE(journal_->CommitGroup().ok());
  reader.join();
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->has_value());
}

TEST_P(BorrowJournalContractTest, OnlyTheThreadThatBeganAGroupCommitsIt) {
  ASSERT_TRUE(journal_->BeginGroup().ok());
  absl::Status elsewhere;
  std::thread other([&] { elsewhere = journal_->CommitGroup(); });
  other.join();
  EXPECT_EQ(elsewhere.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(journal_->CommitGroup().ok());
}

TEST_P(BorrowJournalContractTest, ASettledOutcomeIsNeverOverwritten) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .transaction_id = "77"})
                  .ok());
  // Reconciliation arriving late must not turn a success into "not executed".
  absl::Status late = journal_
                          ->RecordOutcome("a", {.state = Outcome::kRejected,
                                                .reconciled = true})
                          .status();
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*journal_->Get("a"))->state, Outcome::kSucceeded);
  // UNKNOWN may be settled by reconciliation only.
  ASSERT_TRUE(journal_->InsertIntent(Intent("u")).ok());
  ASSERT_TRUE(journal_->RecordOutcome("u", {.state = Outcome::kUnknown}).ok());
  EXPECT_FALSE(
      journal_->RecordOutcome("u", {.state = Outcome::kRejected}).ok());
  EXPECT_TRUE(journal_
                  ->RecordOutcome("u", {.state = Outcome::kSucceeded,
                                        .reconciled = true,
                                        .transaction_id = "78"})
                  .ok());
}

// The metrics' count of unsettled records follows every write and a reopen
// without reading storage, and matches what Unsettled() reads from it.
TEST_P(BorrowJournalContractTest, CountsUnsettledRecordsFromItsOwnWrites) {
  auto none = [](const std::string&) { return false; };
  for (const char* id : {"p", "u", "s", "r", "held"})
    ASSERT_TRUE(journal_->InsertIntent(Intent(id)).ok());
  EXPECT_EQ(journal_->CountUnsettled(none).unsettled, 5);
  ASSERT_TRUE(journal_->RecordOutcome("u", {.state = Outcome::kUnknown}).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("s", {.state = Outcome::kSucceeded,
                                        .transaction_id = "7"})
                  .ok());
  ASSERT_TRUE(journal_->RecordOutcome("r", {.state = Outcome::kRejected}).ok());
  ASSERT_TRUE(journal_->SetNote("u", "ambiguous: 2 records").ok());
  ASSERT_TRUE(journal_->SetNote("s", "ambiguous: settled").ok())
      << "a settled record's note is not written";
  UnsettledCount count = journal_->CountUnsettled(
      [](const std::string& id) { return id == "held"; });
  EXPECT_EQ(count.unsettled, 2) << "p and u; held is in flight";
  EXPECT_EQ(count.ambiguous, 1);
  // A direct answer naming a transaction reconciliation gave another record
  // reopens that record: unsettled again.
  ASSERT_TRUE(journal_
                  ->RecordOutcome("u", {.state = Outcome::kSucceeded,
                                        .reconciled = true,
                                        .transaction_id = "8"})
                  .ok());
  EXPECT_EQ(journal_->CountUnsettled(none).unsettled, 2) << "p and held";
  ASSERT_TRUE(journal_
                  ->RecordOutcome("p", {.state = Outcome::kSucceeded,
                                        .transaction_id = "8"})
                  .ok());
  EXPECT_EQ(journal_->CountUnsettled(none).unsettled, 2) << "u reopened";
  ASSERT_TRUE(journal_->SetNote("u", "ambiguous: again").ok());
  Reopen();
  count = journal_->CountUnsettled(none);
  EXPECT_EQ(count.unsettled,
            static_cast<int64_t>(journal_->Unsettled()->size()));
  EXPECT_EQ(count.unsettled, 2);
  EXPECT_EQ(count.ambiguous, 1) << "read back from the journal at open";
}

TEST_P(BorrowJournalContractTest, ATransactionBelongsToOneBorrow) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .transaction_id = "9"})
                  .ok());
  EXPECT_FALSE(journal_
                   ->RecordOutcome("b", {.state = Outcome::kSucceeded,
                                         .reconciled = true,
                                         .transaction_id = "9"})
                   .ok());
}

TEST_P(BorrowJournalContractTest,
       ARetriedIntentStartsANewReconciliationWindow) {
  JournalRecord first = Intent("a");
  first.created = absl::Now() - absl::Hours(1);
  ASSERT_TRUE(journal_->InsertIntent(first).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kRejected,
                                        .retryable = true,
                                        .error = "e"})
                  .ok());
  JournalRecord again = Intent("a");
  ASSERT_TRUE(journal_->InsertIntent(again).ok());
  EXPECT_GE((*journal_->Get("a"))->created,
            again.created - absl::Milliseconds(1));
}

TEST_P(BorrowJournalContractTest, AttemptsAreJournaledAndFollowTheOutcome) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("a", 1000)).ok());
  // A resend (after -1021, or to the next base URL) supersedes the first.
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("a", 2000)).ok());
  auto attempts = *journal_->Attempts("a");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].seq, 1);
  EXPECT_EQ(attempts[0].state, AttemptState::kNotExecuted);
  EXPECT_EQ(attempts[1].seq, 2);
  EXPECT_EQ(attempts[1].signed_ms, 2000);
  EXPECT_EQ(attempts[1].state, AttemptState::kSent);
  EXPECT_EQ(*journal_->LatestOpenWindowEnd(1001, "other"), 7000);
  EXPECT_FALSE(journal_->LatestOpenWindowEnd(1001, "a")->has_value())
      << "a call never waits for itself";
  EXPECT_FALSE(journal_->LatestOpenWindowEnd(1002, "x")->has_value());

  // UNKNOWN keeps it open; a reconciled "not executed" too (a late record
  // could still be its); SUCCEEDED closes it.
  ASSERT_TRUE(journal_->RecordOutcome("a", {.state = Outcome::kUnknown}).ok());
  EXPECT_EQ(journal_->OpenAttempts(1001, "USDT")->size(), 1u);
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .reconciled = true,
                                        .transaction_id = "55"})
                  .ok());
  EXPECT_TRUE(journal_->OpenAttempts(1001, "USDT")->empty());
  EXPECT_EQ((*journal_->Attempts("a"))[1].state, AttemptState::kExecuted);

  // A direct rejection means nothing executed.
  ASSERT_TRUE(journal_->InsertIntent(Intent("r")).ok());
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("r", 3000)).ok());
  ASSERT_TRUE(journal_->RecordOutcome("r", {.state = Outcome::kRejected}).ok());
  EXPECT_EQ((*journal_->Attempts("r"))[0].state, AttemptState::kNotExecuted);
  EXPECT_TRUE(journal_->OpenAttempts(1001, "USDT")->empty());
}

TEST_P(BorrowJournalContractTest,
       ADirectAnswerTakesBackAReconciledTransaction) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("r1")).ok());
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("r1", 1000)).ok());
  ASSERT_TRUE(journal_->RecordOutcome("r1", {.state = Outcome::kUnknown}).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("r2")).ok());
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("r2", 9000)).ok());
  // Reconciliation (wrongly) gives r2's transaction to r1 ...
  ASSERT_TRUE(journal_
                  ->RecordOutcome("r1", {.state = Outcome::kSucceeded,
                                         .reconciled = true,
                                         .transaction_id = "777"})
                  .ok());
  // ... then Binance's own answer to r2 names it.
  absl::StatusOr<OutcomeWritten> written = journal_->RecordOutcome(
      "r2", {.state = Outcome::kSucceeded, .transaction_id = "777"});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->reopened_request_id, "r1");
  auto r2 = **journal_->Get("r2");
  EXPECT_EQ(r2.state, Outcome::kSucceeded);
  EXPECT_EQ(r2.transaction_id, "777");
  auto r1 = **journal_->Get("r1");
  EXPECT_EQ(r1.state, Outcome::kUnknown) << "reopened";
  EXPECT_TRUE(r1.transaction_id.empty());
  EXPECT_FALSE(r1.reconciled);
  EXPECT_TRUE(absl::StrContains(r1.note, "reopened")) << r1.note;
  EXPECT_EQ((*journal_->Attempts("r1"))[0].state, AttemptState::kSent)
      << "its attempt may own a record again";
  // Two direct answers naming one transaction: refused, nothing changes.
  ASSERT_TRUE(journal_->InsertIntent(Intent("r3")).ok());
  EXPECT_FALSE(journal_
                   ->RecordOutcome("r3", {.state = Outcome::kSucceeded,
                                          .transaction_id = "777"})
                   .ok());
  EXPECT_EQ((**journal_->Get("r2")).transaction_id, "777");
}

TEST_P(BorrowJournalContractTest, NotesAreKeptForUnsettledRecordsOnly) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->SetNote("a", "ambiguous: x").ok());
  EXPECT_EQ((**journal_->Get("a")).note, "ambiguous: x");
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kSucceeded,
                                        .reconciled = true,
                                        .transaction_id = "1"})
                  .ok());
  EXPECT_TRUE((**journal_->Get("a")).note.empty()) << "settled: no open note";
}

// What rolling caps count: the caller's own borrows of the asset in the
// window, in flight, succeeded or unknown; never a REJECTED one.
TEST_P(BorrowJournalContractTest,
       CountsTheCallersUnrejectedBorrowsOfTheAssetSince) {
  const absl::Time now = absl::Now();
  Add("old", "me", "USDT", "1", now - absl::Hours(2));
  Add("pending", "me", "USDT", "2", now - absl::Minutes(5));
  Add("ok", "me", "USDT", "3", now - absl::Minutes(4));
  Add("unknown", "me", "USDT", "4", now - absl::Minutes(3));
  Add("rejected", "me", "USDT", "5", now - absl::Minutes(2));
  Add("other_asset", "me", "USDC", "6", now - absl::Minutes(1));
  Add("other_caller", "you", "USDT", "7", now - absl::Minutes(1));
  ASSERT_TRUE(journal_
                  ->RecordOutcome("ok", {.state = Outcome::kSucceeded,
                                         .transaction_id = "1"})
                  .ok());
  ASSERT_TRUE(
      journal_->RecordOutcome("unknown", {.state = Outcome::kUnknown}).ok());
  ASSERT_TRUE(
      journal_->RecordOutcome("rejected", {.state = Outcome::kRejected}).ok());
  absl::StatusOr<std::vector<CallerBorrow>> counted =
      journal_->CallerBorrowsSince("me", "USDT", now - absl::Hours(1));
  ASSERT_TRUE(counted.ok()) << counted.status();
  std::vector<std::string> amounts;
  for (const CallerBorrow& b : *counted) amounts.push_back(b.amount);
  std::sort(amounts.begin(), amounts.end());
  EXPECT_EQ(amounts, (std::vector<std::string>{"2", "3", "4"}));
}

// Filters combine, newest first, and keyset pages cover every record once
// even when several share a millisecond.
TEST_P(BorrowJournalContractTest, ListFiltersAndPagesNewestFirst) {
  const absl::Time t0 = absl::FromUnixMillis(1700000000000);
  for (int i = 0; i < 7; ++i) {
    JournalRecord r = Intent(absl::StrCat("id-", i));
    r.created = t0 + absl::Milliseconds(i / 2);  // Pairs share a time.
    r.group_id = i % 2 == 0 ? 1001 : 1002;
    r.caller = i < 5 ? "a" : "b";
    ASSERT_TRUE(journal_->InsertIntent(r).ok());
  }
  ASSERT_TRUE(
      journal_->RecordOutcome("id-0", {.state = Outcome::kRejected}).ok());
  auto ids = [](const std::vector<JournalRecord>& records) {
    std::vector<std::string> out;
    for (const JournalRecord& r : records) out.push_back(r.request_id);
    return out;
  };
  absl::StatusOr<std::vector<JournalRecord>> all = journal_->List({});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(ids(*all), (std::vector<std::string>{"id-6", "id-5", "id-4", "id-3",
                                                 "id-2", "id-1", "id-0"}));
  EXPECT_EQ(ids(*journal_->List({.group_id = 1001, .caller = "a"})),
            (std::vector<std::string>{"id-4", "id-2", "id-0"}));
  EXPECT_EQ(ids(*journal_->List({.state = Outcome::kRejected})),
            (std::vector<std::string>{"id-0"}));
  EXPECT_EQ(
      ids(*journal_->List({.created_from = t0 + absl::Milliseconds(1),
                           .created_before = t0 + absl::Milliseconds(3)})),
      (std::vector<std::string>{"id-5", "id-4", "id-3", "id-2"}));
  std::vector<std::string> paged;
  RecordQuery page{.limit = 2};
  while (true) {
    absl::StatusOr<std::vector<JournalRecord>> got = journal_->List(page);
    ASSERT_TRUE(got.ok()) << got.status();
    for (const std::string& id : ids(*got)) paged.push_back(id);
    if (got->size() < 2) break;
    page.after =
        RecordQuery::Position{got->back().created, got->back().request_id};
  }
  EXPECT_EQ(paged, ids(*all));
}

// A repay is journaled as one, with what Binance says it repaid; the same
// request_id asked as a borrow is another intent.
TEST_P(BorrowJournalContractTest, TheOperationKindAndTheAmountMovedAreKept) {
  JournalRecord repay = Intent("repay-1", "500");
  repay.kind = OperationKind::kRepay;
  ASSERT_TRUE(journal_->InsertIntent(repay).ok());
  ASSERT_TRUE(journal_
                  ->BeginAttempt({.kind = OperationKind::kRepay,
                                  .request_id = "repay-1",
                                  .group_id = 1001,
                                  .asset = "USDT",
                                  .amount = "500",
                                  .signed_ms = 1,
                                  .recv_window_ms = 5000})
                  .ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("repay-1", {.state = Outcome::kSucceeded,
                                              .transaction_id = "77",
                                              .result_amount = "120.5"})
                  .ok());
  Reopen();
  std::optional<JournalRecord> got = *journal_->Get("repay-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, OperationKind::kRepay);
  EXPECT_EQ(got->result_amount, "120.5");
  EXPECT_EQ((*journal_->Attempts("repay-1"))[0].kind, OperationKind::kRepay);
  JournalRecord as_borrow = Intent("repay-1", "500");
  EXPECT_FALSE(got->SameIntent(as_borrow));
}

}  // namespace
}  // namespace loan_gateway
