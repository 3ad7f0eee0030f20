#include "journal/borrow_journal.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "journal/serial_executor.h"

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
    auto opened = BorrowJournal::Open(path_);
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
  std::unique_ptr<BorrowJournal> journal_;
};

TEST_F(BorrowJournalTest, IntentSurvivesReopenAndOutcomeIsRecorded) {
  auto inserted = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(inserted.ok());
  EXPECT_FALSE(inserted->has_value()) << "new intent";
  Reopen();
  auto record = journal_->Get("a");
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->state, JournalState::kPending);
  EXPECT_EQ((*record)->amount, "10");
  ASSERT_TRUE(journal_
                  ->RecordOutcome("a", JournalState::kSucceeded, false, false,
                                  "9007199254740993", "")
                  .ok());
  record = journal_->Get("a");
  EXPECT_EQ((*record)->state, JournalState::kSucceeded);
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
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("a", JournalState::kRejected, false, true, "", "e")
          .ok());
  auto retry = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(retry.ok());
  EXPECT_FALSE(retry->has_value()) << "back to PENDING for another attempt";
  EXPECT_EQ((*journal_->Get("a"))->state, JournalState::kPending);
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("a", JournalState::kUnknown, false, false, "", "e")
          .ok());
  auto unknown = journal_->InsertIntent(Intent("a"));
  ASSERT_TRUE(unknown->has_value())
      << "an unknown outcome is never attempted again";
  EXPECT_EQ((*unknown)->state, JournalState::kUnknown);
}

TEST_F(BorrowJournalTest, UnsettledListsPendingAndUnknownOnly) {
  for (const char* id : {"p", "u", "s", "r"})
    ASSERT_TRUE(journal_->InsertIntent(Intent(id)).ok());
  ASSERT_TRUE(
      journal_->RecordOutcome("u", JournalState::kUnknown, false, false, "", "")
          .ok());
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("s", JournalState::kSucceeded, false, false, "7", "")
          .ok());
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("r", JournalState::kRejected, false, false, "", "")
          .ok());
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

TEST(SerialExecutorTest, RunsTasksInOrderAndDrainsOnDestruction) {
  std::vector<int> order;
  {
    SerialExecutor executor;
    for (int i = 0; i < 100; ++i)
      executor.Post([&order, i] { order.push_back(i); });
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

TEST_F(BorrowJournalTest, ASettledOutcomeIsNeverOverwritten) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("a", JournalState::kSucceeded, false, false, "77", "")
          .ok());
  // Reconciliation arriving late must not turn a success into "not executed".
  absl::Status late = journal_->RecordOutcome("a", JournalState::kRejected,
                                              true, false, "", "");
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*journal_->Get("a"))->state, JournalState::kSucceeded);
  // UNKNOWN may be settled by reconciliation only.
  ASSERT_TRUE(journal_->InsertIntent(Intent("u")).ok());
  ASSERT_TRUE(
      journal_->RecordOutcome("u", JournalState::kUnknown, false, false, "", "")
          .ok());
  EXPECT_FALSE(
      journal_
          ->RecordOutcome("u", JournalState::kRejected, false, false, "", "")
          .ok());
  EXPECT_TRUE(
      journal_
          ->RecordOutcome("u", JournalState::kSucceeded, true, false, "78", "")
          .ok());
}

TEST_F(BorrowJournalTest, ATransactionBelongsToOneBorrow) {
  ASSERT_TRUE(journal_->InsertIntent(Intent("a")).ok());
  ASSERT_TRUE(journal_->InsertIntent(Intent("b")).ok());
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("a", JournalState::kSucceeded, false, false, "9", "")
          .ok());
  EXPECT_FALSE(
      journal_
          ->RecordOutcome("b", JournalState::kSucceeded, true, false, "9", "")
          .ok());
}

TEST_F(BorrowJournalTest, ARetriedIntentStartsANewReconciliationWindow) {
  JournalRecord first = Intent("a");
  first.created = absl::Now() - absl::Hours(1);
  ASSERT_TRUE(journal_->InsertIntent(first).ok());
  ASSERT_TRUE(
      journal_
          ->RecordOutcome("a", JournalState::kRejected, false, true, "", "e")
          .ok());
  JournalRecord again = Intent("a");
  ASSERT_TRUE(journal_->InsertIntent(again).ok());
  EXPECT_GE((*journal_->Get("a"))->created,
            again.created - absl::Milliseconds(1));
}

}  // namespace
}  // namespace loan_gateway
