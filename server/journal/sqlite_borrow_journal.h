#ifndef LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "journal/borrow_journal.h"

struct sqlite3;

namespace loan_gateway {

class StatementCache;

// How a journal file is opened.
struct JournalOpenOptions {
  // Creating a journal is an explicit first-run act: a missing file where
  // one existed would forget every request_id and every borrow in flight.
  bool create_if_missing = false;
};

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
      const std::string& path, JournalOpenOptions options = {});
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

 private:
  SqliteBorrowJournal(sqlite3* db, std::string path, int fd);

  // Holds mu_, unless this thread's group already does (its writes run
  // inside the group's transaction, on the thread that opened it).
  class ABSL_SCOPED_LOCKABLE JournalLock {
   public:
    explicit JournalLock(SqliteBorrowJournal* journal)
        ABSL_EXCLUSIVE_LOCK_FUNCTION(journal->mu_);
    ~JournalLock() ABSL_UNLOCK_FUNCTION();

   private:
    SqliteBorrowJournal* const journal_;
    const bool held_;
  };
  bool InGroup() const {
    return group_thread_.load() == std::this_thread::get_id();
  }
  // One write's transaction: its own, or a savepoint inside the group's.
  absl::Status BeginWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UndoWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<JournalRecord>> UnsettledLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Journal mode, schema and a first write on a freshly opened connection.
  absl::Status Prepare(bool durable_file);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  void IndexUnsettled(const std::string& request_id, const std::string& note);
  void IndexSettled(const std::string& request_id);

  const std::string path_;
  const int fd_;  // Our own handle on the file, to notice a replacement.
  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<StatementCache> statements_ ABSL_GUARDED_BY(mu_);
  // The thread whose group holds mu_ (none: a default id).
  std::atomic<std::thread::id> group_thread_;
  // A write of the open group failed in a way that undid the group.
  bool group_failed_ ABSL_GUARDED_BY(mu_) = false;
  // Apart from mu_, which is held through a write's fsync.
  mutable absl::Mutex index_mu_;
  // request_id -> whether its note says "ambiguous".
  absl::flat_hash_map<std::string, bool> unsettled_ ABSL_GUARDED_BY(index_mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_SQLITE_BORROW_JOURNAL_H_
