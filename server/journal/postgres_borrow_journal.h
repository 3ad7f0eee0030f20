#ifndef LOAN_GATEWAY_SERVER_JOURNAL_POSTGRES_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_POSTGRES_BORROW_JOURNAL_H_

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

namespace loan_gateway {

class PostgresConnection;
class PostgresRows;

// The journal in a PostgreSQL database (--journal_url postgres://...), with
// the SQLite journal's schema and rules: a record is durable when a write
// returns (a committed transaction), writes may be grouped into one
// transaction (BeginGroup), each in a savepoint of its own.
//
// Several gateways may write one database side by side (active/active);
// what one process guarantees in memory, the database enforces between them
// (docs/replicas-on-postgresql.md):
// - each gateway holds a session advisory lock on a replica id of its own
//   for as long as its session lives: the others read "alive" from it. A
//   PENDING record carries its owner's id; a live owner's is in flight
//   (repeats elsewhere wait for it, reconciliation leaves it alone), a dead
//   one's is reconciliation's;
// - request_id idempotency is the primary key;
// - a risk unit's turn is a row taken in BeginAttempt's transaction and
//   given back in RecordOutcome's, takeable when its holder is dead or no
//   longer works on it (RiskUnitBusyElsewhere until then);
// - caps are checked under a transaction advisory lock (LockCallerCaps);
// - reconciliation and the purge run under a lease: a session advisory lock
//   that ends with its holder's session.
// A gateway whose session was lost writes nothing until its new session
// holds its replica lock again (CheckWriter).
//
// One session behind a mutex: a lost session is re-opened by the next
// statement, never by resending one; a write whose COMMIT went unanswered is
// UNAVAILABLE (its outcome unknown to the caller, as after a crash).
class PostgresBorrowJournal final : public BorrowJournal {
 public:
  // Opens the journal in the database `url` names, creating its tables only
  // when `options.create_if_missing`. Fails when it cannot take a write.
  static absl::StatusOr<std::unique_ptr<PostgresBorrowJournal>> Open(
      const std::string& url, const JournalOpenOptions& options = {});
  ~PostgresBorrowJournal() override;

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
  // The database is the storage: nothing on this host to replace.
  absl::Status CheckIntact() const override { return absl::OkStatus(); }
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
  absl::Status LockCallerCaps(const std::string& caller,
                              const std::string& asset) override;
  absl::StatusOr<bool> TryLeadReconciliation() override;
  absl::Status ReleaseAbandoned(
      const std::function<bool(const std::string&)>& in_flight) override;
  // One chain per gateway process, several in one database.
  absl::Status AppendAuditLines(
      const std::string& chain,
      const std::vector<ChainedAuditLine>& lines) override;
  absl::StatusOr<std::string> AuditLines(const std::string& chain) override;
  absl::StatusOr<AuditHead> LastAuditLine(const std::string& chain) override;
  absl::Status BeginGroup() override;
  absl::Status CommitGroup() override;
  // OK while the database answers and this gateway holds its replica lock
  // (readiness asks every second; after a lost session, asking takes the
  // lock again once PostgreSQL has ended the old session).
  absl::Status CheckWriter() override;
  bool writer() const override { return writer_.load(); }
  // This gateway's replica id (owner of its PENDING records).
  int32_t replica_id() const { return replica_id_.load(); }

 private:
  PostgresBorrowJournal();

  // One write's transaction: its own, or a savepoint inside the group's.
  absl::Status BeginWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UndoWrite() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status NotAliveError() const;
  // The connection's hook: runs under mu_ (inside a statement) or in Open.
  absl::Status TryTakeReplicaLock(PostgresConnection& session)
      ABSL_NO_THREAD_SAFETY_ANALYSIS;
  absl::Status RegisterReplica(PostgresConnection& session);
  absl::Status WriteMeta(const std::string& name, const std::string& value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // From storage: after a group that did not commit.
  void ReloadUnsettledIndex() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One statement as one write: its transaction, or its savepoint in the
  // group's, undone when it fails.
  absl::StatusOr<PostgresRows> WriteStatement(
      const std::string& sql, const std::vector<std::string>& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TakeRiskUnitTurn(const AttemptRecord& attempt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SELECT of a record's columns and whether another live gateway works on
  // it (ReadRecord's order).
  std::string SelectRecords() const;
  absl::Status Prepare(bool create_if_missing);
  absl::StatusOr<std::optional<JournalRecord>> GetLocked(
      const std::string& request_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<JournalRecord>> UnsettledLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ClaimDeadOwnersRecords() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> ReopenHolderOf(const std::string& transaction_id,
                                             const std::string& request_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MarkAttempts(const std::string& request_id, AttemptState from,
                            AttemptState to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<JournalRecord>> ReadRecords(
      const std::string& sql, const std::vector<std::string>& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<AttemptRecord>> ReadAttempts(
      const std::string& sql, const std::vector<std::string>& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  JournalGroupLock mu_;
  std::unique_ptr<PostgresConnection> db_ ABSL_GUARDED_BY(mu_);
  bool group_failed_ ABSL_GUARDED_BY(mu_) = false;
  // In a group: the last write's savepoint, released by the next BeginWrite
  // (with its own, one round trip) or the group's COMMIT.
  bool savepoint_open_ ABSL_GUARDED_BY(mu_) = false;
  // Whether this session holds the replica lock: set on every (re)connect
  // and by CheckWriter.
  std::atomic<bool> writer_{false};
  std::atomic<bool> opened_{false};  // Open has finished (tables exist).
  // Random; changed only before Open finishes (its records carry it).
  std::atomic<int32_t> replica_id_{0};
  bool lease_held_ ABSL_GUARDED_BY(mu_) = false;
  UnsettledIndex unsettled_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_POSTGRES_BORROW_JOURNAL_H_
