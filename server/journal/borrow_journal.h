#ifndef LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct sqlite3;

namespace loan_gateway {

enum class JournalState { kPending, kSucceeded, kRejected, kUnknown };
absl::string_view JournalStateName(JournalState state);

// One borrow intent and what became of it.
struct JournalRecord {
  std::string request_id;
  std::string caller;
  int64_t group_id = 0;
  std::string asset;   // USDT | USDC
  std::string amount;  // Exact decimal text.
  absl::Time created;
  absl::Time updated;
  JournalState state = JournalState::kPending;
  bool reconciled = false;  // Settled from Binance's records, not its answer.
  bool retryable =
      false;  // REJECTED, not executed, and a repeat may try again.
  std::string transaction_id;
  std::string error;  // Serialized google.rpc.Status when REJECTED or UNKNOWN.

  bool SameIntent(const JournalRecord& other) const {
    return group_id == other.group_id && asset == other.asset &&
           amount == other.amount;
  }
};

// The durable journal of borrows: SQLite in WAL mode with synchronous=FULL,
// so a record is on disk when a write returns. An intent is committed before
// its request is signed; its outcome when known. Thread-safe (one connection
// behind a mutex); writes cost an fsync, so callers run them off the hot
// threads (see SerialExecutor).
class BorrowJournal {
 public:
  // Opens or creates the journal at `path`.
  static absl::StatusOr<std::unique_ptr<BorrowJournal>> Open(
      const std::string& path);
  ~BorrowJournal();

  // Writes a new intent, or returns the record already journaled under its
  // request_id (nothing is written then). A retryable REJECTED record with
  // the same intent is turned back into PENDING and returned as nullopt.
  absl::StatusOr<std::optional<JournalRecord>> InsertIntent(
      const JournalRecord& intent);

  // Records the outcome of a borrow. Only a PENDING record, or with
  // `reconciled` an UNKNOWN one, may change: a settled outcome is never
  // overwritten (FAILED_PRECONDITION then).
  absl::Status RecordOutcome(const std::string& request_id, JournalState state,
                             bool reconciled, bool retryable,
                             const std::string& transaction_id,
                             const std::string& error);

  absl::StatusOr<std::optional<JournalRecord>> Get(
      const std::string& request_id);

  // PENDING and UNKNOWN records, oldest first.
  absl::StatusOr<std::vector<JournalRecord>> Unsettled();

  // Whether a Binance transaction id is already attributed to a record.
  absl::StatusOr<bool> TransactionClaimed(const std::string& transaction_id);

  // Deletes settled records last changed before `cutoff` (retention).
  absl::StatusOr<int> PurgeSettledBefore(absl::Time cutoff);

 private:
  explicit BorrowJournal(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<JournalRecord>> GetLocked(
      const std::string& request_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_
