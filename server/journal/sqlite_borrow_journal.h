#ifndef LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "journal/borrow_journal.h"
#include "journal/journal_group_lock.h"
#include "journal/unsettled_index.h"

struct sqlite3;

namespace loan_gateway {

class StatementCache;

// The journal in one SQLite file, in WAL mode with synchronous=FULL, so a
// record is on disk when a write returns; the file is held exclusively
// (flock) by one gateway at a time. One connection behind a mutex, its
// statements prepared once. Writes may be grouped into one transaction and
// one fsync (BeginGroup); other threads then wait for the group's commit.
class SqliteBorrowJournal final : public BorrowJournal {
 public:
  // Opens the journal at `path` (mode 0600), creating it only when
  // `options.create_if_missing`. Fails when it cannot be written.
  static absl::StatusOr<std::unique_ptr<SqliteBorrowJournal>> Open(
      const std::string& path, const JournalOpenOptions& options = {});
  // The same schema and rules in memory, gone with the object: for tests of
  // the stages above the journal.
  static absl::StatusOr<std::unique_ptr<SqliteBorrowJournal>> OpenInMemory();
  ~SqliteBorrowJournal() override;

  absl::StatusOr<std::optional<JournalRecord>> InsertIntent(
      const JournalRecord& intent) override;
  absl::StatusOr<OutcomeWritten> RecordOutcome(
      const std::string& request_id, const OutcomeToRecord& outcome) override;
  absl::Status BeginAttempt(const AttemptRecord& attempt) override;
  absl::StatusOr<std::vector<AttemptRecord>> Attempts(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<AttemptRecord>> OpenAttempts(
      int64_t group_id, const std::string& asset) override;
  absl::StatusOr<std::optional<int64_t>> LatestOpenWindowEnd(
      int64_t group_id, const std::string& except_request_id) override;
  absl::Status SetNote(const std::string& request_id,
                       const std::string& note) override;
  absl::Status CheckIntact() const override;
  absl::StatusOr<std::optional<JournalRecord>> Get(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<JournalRecord>> Unsettled() override;
  UnsettledCount CountUnsettled(
      const std::function<bool(const std::string&)>& skip) const override;
  absl::StatusOr<std::vector<CallerBorrow>> CallerBorrowsSince(
      const std::string& caller, const std::string& asset,
      absl::Time since) override;
  absl::StatusOr<std::vector<JournalRecord>> List(
      const RecordQuery& query) override;
  absl::StatusOr<bool> TransactionClaimed(
      const std::string& transaction_id) override;
  absl::StatusOr<int> PurgeSettledBefore(absl::Time cutoff) override;
  absl::Status BeginGroup() override;
  absl::Status CommitGroup() override;

  const std::string& path() const { return path_; }

  // One chain, "" (one process writes the file).
  absl::Status AppendAuditLines(
      const std::string& chain,
      const std::vector<ChainedAuditLine>& lines) override;
  absl::StatusOr<std::string> AuditLines(const std::string& chain) override;
  absl::StatusOr<AuditHead> LastAuditLine(const std::string& chain) override;

 private:
  SqliteBorrowJournal(sqlite3* db, std::string path, int fd);

  // A write of one statement needs no transaction or savepoint of its own
  // (SQLite undoes a statement that fails): only, inside a group, the
  // group's transaction still open, and after a failure, the group marked
  // undone when SQLite ended its transaction.
  absl::Status CheckGroupOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FailedWrite(absl::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One write of several statements: its own transaction, or a savepoint
  // inside the group's.
  absl::Status BeginWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UndoWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CheckIntact, looked up once per group (at its begin) inside one.
  absl::Status CheckIntactForWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<JournalRecord>> UnsettledLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Journal mode, schema and a first write on a freshly opened connection.
  absl::Status Prepare(bool durable_file);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One statement, through the statement cache (no parsing after the first).
  absl::Status Run(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<JournalRecord>> GetLocked(
      const std::string& request_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> ReopenHolderOf(const std::string& transaction_id,
                                             const std::string& request_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RecordOutcome's update of the record. On an error, `*transaction_held`
  // says whether it was another record holding the outcome's transaction id
  // (the statement is undone either way).
  absl::Status UpdateOutcome(const std::string& request_id,
                             const OutcomeToRecord& outcome,
                             bool* transaction_held)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MarkAttempts(const std::string& request_id, AttemptState from,
                            AttemptState to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The index of unsettled records, from storage once (at open), then kept
  // by each write that commits.
  absl::Status LoadUnsettledIndex() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status LoadIndexAtOpen();

  const std::string path_;
  const int fd_;  // Our own handle on the file, to notice a replacement.
  JournalGroupLock mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<StatementCache> statements_ ABSL_GUARDED_BY(mu_);
  // A write of the open group failed in a way that undid the group.
  bool group_failed_ ABSL_GUARDED_BY(mu_) = false;
  // CheckIntact at the open group's begin: its writes need no other look.
  absl::Status group_intact_ ABSL_GUARDED_BY(mu_);
  // MarkAttempts' statement for each (from, to), made on first use.
  std::array<std::array<std::string, 3>, 3> mark_attempts_sql_
      ABSL_GUARDED_BY(mu_);
  UnsettledIndex unsettled_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
