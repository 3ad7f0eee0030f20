// What only the SQLite journal does: one file, held by one process, private,
// noticed when deleted or replaced, migrated from older schemas. The rules
// both journals share are in borrow_journal_contract_test.cc.
#include "journal/sqlite_borrow_journal.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "journal/journal_test_records.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Attempt;
using ::loan_gateway::journal_test::Intent;

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

  std::string path_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
};

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

// Inside a group the file is looked at once, when the group begins: a
// group begun after the file went refuses its intents and attempts, and
// one begun with the file back takes them again.
TEST_F(BorrowJournalTest, AGroupBegunOnAMovedJournalRefusesWhatLeadsToSigning) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  std::filesystem::rename(path_, path_ + ".moved");
  ASSERT_TRUE(journal_->BeginGroup().ok());
  EXPECT_FALSE(journal_->InsertIntent(Intent("b")).ok());
  EXPECT_FALSE(journal_->BeginAttempt(Attempt("a", 1)).ok());
  EXPECT_TRUE(journal_->CommitGroup().ok()) << "nothing written";
  std::filesystem::rename(path_ + ".moved", path_);
  ASSERT_TRUE(journal_->BeginGroup().ok());
  EXPECT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  EXPECT_TRUE(journal_->BeginAttempt(Attempt("a", 1)).ok());
  ASSERT_TRUE(journal_->CommitGroup().ok());
  Reopen();
  EXPECT_TRUE((*journal_->Get("b")).has_value()) << "committed in the group";
  EXPECT_EQ(journal_->Attempts("a")->size(), 1u);
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

// Only attempts that may still execute are looked up by risk unit: an index
// of every attempt made each borrow's commits write a page per risk unit.
TEST_F(BorrowJournalTest, OnlyTheOpenAttemptsAreIndexedByRiskUnit) {
  auto indexes = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    std::vector<std::string> names;
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT name FROM sqlite_master WHERE type = 'index' "
                       "AND tbl_name = 'attempts' AND sql IS NOT NULL "
                       "ORDER BY name",
                       -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
      names.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    }
    sqlite3_finalize(s);
    // The journal's own lookups (OpenAttempts, LatestOpenWindowEnd).
    for (const char* query :
         {"SELECT * FROM attempts WHERE group_id = ? AND state = 'SENT' AND "
          "asset = ? ORDER BY signed_ms",
          "SELECT MAX(signed_ms + recv_window_ms) FROM attempts WHERE "
          "group_id = ? AND state = 'SENT' AND request_id != ?"}) {
      sqlite3_prepare_v2(db, absl::StrCat("EXPLAIN QUERY PLAN ", query).c_str(),
                         -1, &s, nullptr);
      std::string plan;
      while (sqlite3_step(s) == SQLITE_ROW) {
        plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
      }
      sqlite3_finalize(s);
      EXPECT_TRUE(absl::StrContains(plan, "attempts_sent")) << query << plan;
    }
    sqlite3_close(db);
    return names;
  };
  EXPECT_EQ(indexes(), std::vector<std::string>{"attempts_sent"});
  journal_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE INDEX attempts_open ON attempts(group_id, "
                         "state, asset);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  // A journal an older gateway wrote loses its index of all.
  ASSERT_NO_FATAL_FAILURE(Reopen());
  EXPECT_EQ(indexes(), std::vector<std::string>{"attempts_sent"});
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->BeginAttempt(Attempt("a", 5000)).ok());
  EXPECT_EQ(journal_->OpenAttempts(1001, "USDT")->size(), 1u);
}

}  // namespace
}  // namespace loan_gateway
