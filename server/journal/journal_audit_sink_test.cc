// The audit trail as rows of the SQLite journal, driven by the journal's own
// group commit: the real journal file, the real executor, the real log.
#include "journal/journal_audit_sink.h"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "audit/audit_line.h"
#include "audit/audit_log.h"
#include "executor/group_commit_executor.h"
#include "gtest/gtest.h"
#include "journal/journal_test_records.h"
#include "journal/sqlite_borrow_journal.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Intent;

class TestClock : public Clock {
 public:
  absl::Time Now() const override { return absl::FromUnixSeconds(1.7e9); }
};

audit::v1::AuditRecord Answered(const std::string& request_id) {
  audit::v1::AuditRecord record;
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_method("Borrow");
  record.set_request_id(request_id);
  return record;
}

class JournalAuditSinkTest : public testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             absl::StrCat(
                 "audit_sink_test_", getpid(), "_",
                 testing::UnitTest::GetInstance()->current_test_info()->name(),
                 ".db"))
                .string();
    auto opened = SqliteBorrowJournal::Open(path_, {.create_if_missing = true});
    ASSERT_TRUE(opened.ok()) << opened.status();
    journal_ = *std::move(opened);
  }
  void TearDown() override {
    journal_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }
  std::unique_ptr<AuditLog> OpenLog() {
    auto log = AuditLog::OpenDriven(
        std::make_unique<JournalAuditSink>(journal_.get(), "", "audit_log"),
        &clock_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  // The gateway's wiring: the audit records of a group are its last writes.
  CommitGroupHooks Hooks(AuditLog* log) {
    return {.begin = [this] { return journal_->BeginGroup(); },
            .commit = [this] { return journal_->CommitGroup(); },
            .finish_writes = [log] { log->WriteQueued(); },
            .committed = [log](const absl::Status& s) { log->Committed(s); }};
  }

  TestClock clock_;
  std::string path_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
};

TEST_F(JournalAuditSinkTest, RecordsCommitWithTheGroupsJournalWrites) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  {
    GroupCommitExecutor executor(Hooks(log.get()));
    log->SetWaker([&executor] {
      if (executor.InGroup()) return false;
      executor.Post([] {});
      return true;
    });
    absl::Notification durable;
    bool journal_durable = false;
    executor.Post([&] {
      ASSERT_TRUE(journal_->InsertIntent(Intent("b1")).ok());
      log->Append(Answered("b1"), [&](absl::Status s) {
        // The commit that made the record durable made the intent so too.
        EXPECT_TRUE(s.ok()) << s;
        journal_durable = journal_->Get("b1")->has_value();
        durable.Notify();
      });
    });
    ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(journal_durable);
    // From outside a group: the waker gets it one.
    EXPECT_TRUE(log->AppendAndWait(Answered("query")).ok());
    log->SetWaker(nullptr);
  }
  EXPECT_EQ(log->head().seq, 3u);
  absl::StatusOr<AuditHead> verified = VerifySqliteAuditTable(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 3u);
  EXPECT_EQ(verified->sha256, log->head().sha256);
}

TEST_F(JournalAuditSinkTest, AReopenedJournalContinuesTheChain) {
  AuditHead first;
  {
    std::unique_ptr<AuditLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->AppendAndWait(Answered("r1")).ok());  // No driver yet.
    first = log->head();
  }
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->head().seq, first.seq + 1);  // Its own AUDIT_OPENED.
  absl::StatusOr<AuditHead> verified = VerifySqliteAuditTable(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 3u);
}

TEST_F(JournalAuditSinkTest, AnEditedRowIsRefusedAndNamed) {
  { ASSERT_NE(OpenLog(), nullptr); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE audit_log SET line = replace(line, "
                         "'new chain', 'old chain') WHERE seq = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<AuditHead> verified = VerifySqliteAuditTable(path_);
  EXPECT_TRUE(absl::IsFailedPrecondition(verified.status()))
      << verified.status();
  auto reopened = AuditLog::OpenDriven(
      std::make_unique<JournalAuditSink>(journal_.get(), "", "audit_log"),
      &clock_);
  EXPECT_TRUE(absl::IsFailedPrecondition(reopened.status()));
  EXPECT_TRUE(absl::StrContains(reopened.status().message(), "audit_log"))
      << reopened.status();
}

TEST_F(JournalAuditSinkTest, ASeqWrittenTwiceIsRefusedAndNothingChanges) {
  JournalAuditSink sink(journal_.get(), "", "audit_log");
  absl::StatusOr<AuditLine> line = FormatAuditLine(Answered("r1"));
  ASSERT_TRUE(line.ok());
  const ChainedAuditLine row = {
      .seq = 1, .sha256 = line->sha256, .text = line->text};
  ASSERT_TRUE(sink.Append({row}, line->text).ok());
  const absl::Status again = sink.Append({row}, line->text);
  EXPECT_TRUE(absl::IsUnavailable(again)) << again;
  absl::StatusOr<AuditHead> last = sink.Recover();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->seq, 1u);
}

TEST_F(JournalAuditSinkTest, TellsAJournalFileFromAnAuditFile) {
  EXPECT_TRUE(IsSqliteFile(path_));
  const std::string text = path_ + ".jsonl";
  std::ofstream(text) << "{}\n";
  EXPECT_FALSE(IsSqliteFile(text));
  EXPECT_FALSE(IsSqliteFile(path_ + ".missing"));
  std::filesystem::remove(text);
}

}  // namespace
}  // namespace loan_gateway
