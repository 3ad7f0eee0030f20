#include "journal/sqlite_borrow_journal.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

class BorrowJournalTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat(
                 "journal_test_", getpid(), "_",
                 testing::UnitTest::GetInstance()->current_test_info()->name(),
                 ".db"))
                .string();
    Reopen();
  }
  void TearDown() override {
    journal_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }
  void Reopen() {
    journal_.reset();
    auto opened = SqliteBorrowJournal::Open(path_, {.create_if_missing = true});
    ASSERT_TRUE(opened.ok()) << opened.status();
    journal_ = *std::move(opened);
  }
  static JournalRecord Intent(const std::string& id,
                              const std::string& amount = "10") {
    JournalRecord r;
    r.request_id = id;
    r.caller = "test";
    r.group_id = 1001;
    r.asset = "USDT";
    r.amount = amount;
    r.created = absl::Now();
    return r;
  }

  std::string path_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
};

TEST_F(BorrowJournalTest, IntentSurvivesReopenAndOutcomeIsRecorded) {
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

TEST_F(BorrowJournalTest, RepeatReturnsTheExistingRecord) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  auto again = journal_->InsertIntent(Intent("a", "99"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->amount, "10") << "the first intent stands";
}

TEST_F(BorrowJournalTest, OnlyARetryableRejectionMayBeTriedAgain) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", {.state = Outcome::kRejected,
                                        .retryable = true,
                                        .error = "e"})
                  .ok());
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

TEST_F(BorrowJournalTest, UnsettledListsPendingAndUnknownOnly) {
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

TEST_F(BorrowJournalTest, ALockedJournalFailsTheWriteInsteadOfLosingIt) {
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto blocked = journal_->InsertIntent(Intent("x"));
  EXPECT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable);
  sqlite3_exec(other, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(journal_->InsertIntent(Intent("x")).ok());
}

// What another connection (a restart, an operator's sqlite3) reads.
int64_t CommittedRows(const std::string& path) {
  sqlite3* other = nullptr;
  int64_t rows = -1;
  if (sqlite3_open_v2(path.c_str(), &other, SQLITE_OPEN_READONLY, nullptr) ==
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

TEST_F(BorrowJournalTest, AGroupsWritesAreCommittedTogetherByItsCommit) {
  ASSERT_TRUE(journal_->BeginGroup().ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  EXPECT_EQ(CommittedRows(path_), 0) << "nothing is durable before the commit";
  ASSERT_TRUE(journal_->CommitGroup().ok());
  EXPECT_EQ(CommittedRows(path_), 2);
  EXPECT_EQ(journal_->CountUnsettled(nullptr).unsettled, 2);
}

TEST_F(BorrowJournalTest, AWriteThatFailsInAGroupUndoesOnlyItself) {
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

TEST_F(BorrowJournalTest, OtherThreadsReadOnlyWhatAGroupCommitted) {
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

TEST_F(BorrowJournalTest, OnlyTheThreadThatBeganAGroupCommitsIt) {
  ASSERT_TRUE(journal_->BeginGroup().ok());
  absl::Status elsewhere;
  std::thread other([&] { elsewhere = journal_->CommitGroup(); });
  other.join();
  EXPECT_EQ(elsewhere.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(journal_->CommitGroup().ok());
}

TEST_F(BorrowJournalTest, OneJournalIsHeldByOneHolderAtATime) {
  auto second = SqliteBorrowJournal::Open(path_, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(second.status().message(), path_));
  EXPECT_TRUE(absl::StrContains(second.status().message(),
                                absl::StrCat("(pid ", getpid(), ")")))
      << second.status();
  // The first holder is untouched; once it lets go, the journal opens.
  EXPECT_TRUE(journal_->InsertIntent(Intent("held")).ok());
  Reopen();
  EXPECT_TRUE(journal_->Get("held").ok());
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

TEST_F(BorrowJournalTest, ASettledOutcomeIsNeverOverwritten) {
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
TEST_F(BorrowJournalTest, CountsUnsettledRecordsFromItsOwnWrites) {
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

TEST_F(BorrowJournalTest, ATransactionBelongsToOneBorrow) {
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

TEST_F(BorrowJournalTest, ARetriedIntentStartsANewReconciliationWindow) {
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

AttemptRecord Attempt(const std::string& id, int64_t signed_ms,
                      int64_t group = 1001) {
  return {.request_id = id,
          .group_id = group,
          .asset = "USDT",
          .amount = "10",
          .signed_ms = signed_ms,
          .recv_window_ms = 5000};
}

TEST_F(BorrowJournalTest, AttemptsAreJournaledAndFollowTheOutcome) {
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

TEST_F(BorrowJournalTest, ADirectAnswerTakesBackAReconciledTransaction) {
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

TEST_F(BorrowJournalTest, NotesAreKeptForUnsettledRecordsOnly) {
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

TEST_F(BorrowJournalTest, AMissingJournalIsCreatedOnlyWhenAskedAndPrivate) {
  const std::string fresh = path_ + ".fresh";
  auto refused = SqliteBorrowJournal::Open(fresh);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--create_journal"))
      << refused.status();
  EXPECT_FALSE(std::filesystem::exists(fresh)) << "nothing created";
  {
    auto created =
        SqliteBorrowJournal::Open(fresh, {.create_if_missing = true});
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_TRUE((*created)->InsertIntent(Intent("a")).ok());
    for (const char* suffix : {"", "-wal", "-shm"}) {
      struct stat st {};
      ASSERT_EQ(stat((fresh + suffix).c_str(), &st), 0) << suffix;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << fresh << suffix;
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(fresh + suffix);
}

TEST_F(BorrowJournalTest, AnExistingJournalIsMadePrivate) {
  journal_.reset();
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  Reopen();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(BorrowJournalTest, ADeletedOrReplacedJournalRefusesWhatLeadsToSigning) {
  ASSERT_TRUE(journal_->CheckIntact().ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  std::filesystem::rename(path_, path_ + ".moved");
  EXPECT_FALSE(journal_->CheckIntact().ok());
  EXPECT_FALSE(journal_->InsertIntent(Intent("b")).ok());
  EXPECT_FALSE(journal_->BeginAttempt(Attempt("a", 1)).ok());
  // Another file under the same name is not this journal either.
  std::ofstream(path_) << "";
  absl::Status replaced = journal_->CheckIntact();
  EXPECT_FALSE(replaced.ok());
  EXPECT_TRUE(absl::StrContains(replaced.message(), "replaced")) << replaced;
  std::filesystem::remove(path_);
  std::filesystem::rename(path_ + ".moved", path_);
  EXPECT_TRUE(journal_->CheckIntact().ok()) << "the same file back";
  std::filesystem::remove(path_ + ".moved");
}

TEST_F(BorrowJournalTest, AJournalThatCannotTakeAWriteFailsToOpen) {
  journal_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto opened = SqliteBorrowJournal::Open(path_);
  sqlite3_exec(db, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_FALSE(opened.ok()) << "refused at start, not at the first borrow";
}

TEST_F(BorrowJournalTest, AReadOnlyJournalFailsToOpen) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes read-only files";
  journal_.reset();
  ASSERT_EQ(chmod(path_.c_str(), 0400), 0);
  EXPECT_FALSE(SqliteBorrowJournal::Open(path_).ok());
  chmod(path_.c_str(), 0600);
}

TEST_F(BorrowJournalTest, AJournalFromBeforeAttemptsGetsConservativeOnes) {
  journal_.reset();
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path_ + suffix);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  // The version-0 schema, with one unsettled and one settled borrow.
  ASSERT_EQ(sqlite3_exec(db, R"sql(
    CREATE TABLE borrows (request_id TEXT PRIMARY KEY, caller TEXT NOT NULL,
      group_id INTEGER NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL,
      created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
      state TEXT NOT NULL, reconciled INTEGER NOT NULL DEFAULT 0,
      retryable INTEGER NOT NULL DEFAULT 0, transaction_id TEXT, error BLOB);
    INSERT INTO borrows VALUES ('u', 'c', 1001, 'USDT', '5', 1000, 1000,
      'UNKNOWN', 0, 0, NULL, NULL);
    INSERT INTO borrows VALUES ('s', 'c', 1001, 'USDT', '5', 1000, 1000,
      'SUCCEEDED', 0, 0, '9', NULL);
  )sql",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  auto attempts = *journal_->Attempts("u");
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].signed_ms, 1000);
  EXPECT_EQ(attempts[0].recv_window_ms, 60000) << "the widest window";
  EXPECT_TRUE(journal_->Attempts("s")->empty());
  Reopen();  // Migrates once.
  EXPECT_EQ(journal_->Attempts("u")->size(), 1u);
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

class CallerBorrowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        absl::StrCat(::testing::TempDir(), "/caller_borrows_", getpid(), ".db");
    journal_ = *SqliteBorrowJournal::Open(path_, {.create_if_missing = true});
  }
  void TearDown() override {
    journal_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }
  void Add(const std::string& id, const std::string& caller,
           const std::string& asset, const std::string& amount,
           absl::Time created) {
    JournalRecord r;
    r.request_id = id;
    r.caller = caller;
    r.group_id = 1001;
    r.asset = asset;
    r.amount = amount;
    r.created = created;
    ASSERT_TRUE(journal_->InsertIntent(r).ok());
  }
  std::string path_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
};

// What rolling caps count: the caller's own borrows of the asset in the
// window, in flight, succeeded or unknown; never a REJECTED one.
TEST_F(CallerBorrowsTest, CountsTheCallersUnrejectedBorrowsOfTheAssetSince) {
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
TEST_F(BorrowJournalTest, ListFiltersAndPagesNewestFirst) {
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
TEST_F(BorrowJournalTest, TheOperationKindAndTheAmountMovedAreKept) {
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
