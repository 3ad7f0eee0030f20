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
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::journal_test::Intent;

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
            .committed = [log](const absl::Status& s) { log->Committed(s); },
            .stopped = [log] { log->SetWaker(nullptr); }};
  }

  // As the gateway does: a record appended outside a group gets one.
  static void DriveBy(GroupCommitExecutor& executor, AuditLog& log) {
    log.SetWaker([&executor] {
      if (executor.InGroup()) return false;
      executor.Post([] {});
      return true;
    });
  }
  // Another writer of the file than the journal: an intruder's statement.
  bool ExecElsewhere(const std::string& sql) {
    sqlite3* db = nullptr;
    const bool done =
        sqlite3_open(path_.c_str(), &db) == SQLITE_OK &&
        sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return done;
  }
  // Rows another connection sees: committed ones only (WAL).
  int64_t CountCommitted(const std::string& from_where) {
    sqlite3* db = nullptr;
    int64_t count = -1;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + from_where).c_str(),
                           -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      count = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return count;
  }

  test_doubles::ManualClock clock_{absl::FromUnixSeconds(1700000000)};
  std::string path_;
  std::unique_ptr<SqliteBorrowJournal> journal_;
};

TEST_F(JournalAuditSinkTest, RecordsCommitWithTheGroupsJournalWrites) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  {
    GroupCommitExecutor executor(Hooks(log.get()));
    DriveBy(executor, *log);
    absl::Notification durable;
    int64_t intents_then = -1;
    int64_t rows_then = -1;
    executor.Post([&] {
      ASSERT_TRUE(journal_->InsertIntent(Intent("b1")).ok());
      log->Append(Answered("b1"), [&](absl::Status s) {
        // Told only once committed: another connection (which sees no
        // uncommitted row) finds both the intent and the record.
        EXPECT_TRUE(s.ok()) << s;
        intents_then = CountCommitted("borrows WHERE request_id = 'b1'");
        rows_then = CountCommitted("audit_log");
        durable.Notify();
      });
      // Not before: the group has not committed yet.
      EXPECT_EQ(CountCommitted("borrows WHERE request_id = 'b1'"), 0);
    });
    ASSERT_TRUE(durable.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(intents_then, 1);
    EXPECT_EQ(rows_then, 2);  // AUDIT_OPENED and b1's.
    // From outside a group: the waker gets it one.
    EXPECT_TRUE(log->AppendAndWait(Answered("query")).ok());
  }
  EXPECT_EQ(log->head().seq, 3u);
  absl::StatusOr<AuditHead> verified = VerifySqliteAuditTable(path_);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->seq, 3u);
  EXPECT_EQ(verified->sha256, log->head().sha256);
}

// A row the group cannot write (here a seq another writer took) fails its
// record's caller, not the group's journal writes; the log then goes on from
// the table's end, where the verifier names the intruder.
TEST_F(JournalAuditSinkTest, AnAuditRowThatCannotBeWrittenFailsOnlyItsCaller) {
  std::unique_ptr<AuditLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(ExecElsewhere(
      "INSERT INTO audit_log (seq, sha256, line) VALUES (2, 'ab', 'not a "
      "record\n')"));
  {
    GroupCommitExecutor executor(Hooks(log.get()));
    DriveBy(executor, *log);
    absl::Notification heard;
    absl::Status refused;
    executor.Post([&] {
      ASSERT_TRUE(journal_->InsertIntent(Intent("b2")).ok());
      log->Append(Answered("b2"), [&](absl::Status s) {
        refused = s;
        heard.Notify();
      });
    });
    ASSERT_TRUE(heard.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
    EXPECT_EQ(CountCommitted("borrows WHERE request_id = 'b2'"), 1);
    EXPECT_EQ(log->write_failures(), 1u);
    EXPECT_TRUE(log->AppendAndWait(Answered("next")).ok());
  }
  EXPECT_EQ(log->head().seq, 3u) << "after the table's end, seq 2";
  absl::StatusOr<AuditHead> verified = VerifySqliteAuditTable(path_);
  EXPECT_TRUE(absl::IsFailedPrecondition(verified.status()));
  EXPECT_TRUE(absl::StrContains(verified.status().message(), "line 2"))
      << verified.status();
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
  ASSERT_TRUE(ExecElsewhere(
      "UPDATE audit_log SET line = replace(line, 'new chain', 'old chain') "
      "WHERE seq = 1"));
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
