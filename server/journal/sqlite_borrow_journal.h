#ifndef LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_

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
#include "journal/wal_flusher.h"

struct sqlite3;

namespace loan_gateway {

class StatementCache;

// The journal in one SQLite file, in WAL mode; the file is held exclusively
// (flock) by one gateway at a time. One connection behind a mutex, its
// statements prepared once. Writes may be grouped into one transaction
// (BeginGroup), whose commit is made durable apart (FlushCommitted: one
// fdatasync of the write-ahead log for every group committed before it,
// WalFlusher) so that the next group runs meanwhile. A write outside a group
// is durable when it returns, and a read outside one returns only what is
// durable; other threads wait for a group's commit.
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
  bool FlushesApart() const override;
  absl::Status FlushCommitted() override;

  const std::string& path() const { return path_; }

  // One chain, "" (one process writes the file).
  absl::Status AppendAuditLines(
      const std::string& chain,
      const std::vector<ChainedAuditLine>& lines) override;
  absl::StatusOr<std::string> AuditLines(const std::string& chain) override;
  absl::StatusOr<AuditHead> LastAuditLine(const std::string& chain) override;

 private:
  SqliteBorrowJournal(sqlite3* db, std::string path, int fd);

  // One write's transaction: its own, or a savepoint inside the group's.
  absl::Status BeginWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UndoWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<JournalRecord>> UnsettledLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Journal mode, schema and a first write on a freshly opened connection.
  absl::Status Prepare(bool durable_file);
  // A file journal's commits from here on: synchronous=NORMAL, the
  // write-ahead log synced by wal_.
  absl::Status FlushApart(WalFlusher::SyncFn sync);
  // The commit just made outside a group, made durable.
  absl::Status CommittedAlone() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A failed sync of the log, which stops every later write.
  absl::Status FlushFailure() const;
  // Runs `read` under the lock. On another thread than the open group's it
  // returns only once what it could see is durable: the last group may be
  // committed and not yet flushed.
  template <typename Read>
  auto DurableRead(Read read) -> decltype(read()) {
    uint64_t seen = 0;
    auto result = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      JournalGroupLock::Scoped lock(&mu_);
      if (wal_ != nullptr && !mu_.InGroup()) seen = wal_->last_committed();
      return read();
    }();
    if (seen == 0 || !result.ok()) return result;
    if (absl::Status durable = wal_->AwaitDurable(seen); !durable.ok()) {
      return durable;
    }
    return result;
  }
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One statement, through the statement cache (no parsing after the first).
  absl::Status Run(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<JournalRecord>> GetLocked(
      const std::string& request_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> ReopenHolderOf(const std::string& transaction_id,
                                             const std::string& request_id)
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
  UnsettledIndex unsettled_;
  // Syncs the write-ahead log (a file journal; none in memory). Set once at
  // open, before any other thread uses the journal.
  std::unique_ptr<WalFlusher> wal_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
