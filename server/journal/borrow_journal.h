#ifndef LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "audit/audit_sink.h"
#include "contract/outcome.h"
#include "identity/same_caller.h"

namespace loan_gateway {

// One borrow intent and what became of it.
struct JournalRecord {
  OperationKind kind = OperationKind::kBorrow;
  std::string request_id;
  std::string caller;
  int64_t group_id = 0;
  std::string asset;   // USDT | USDC
  std::string amount;  // Exact decimal text.
  absl::Time created;
  absl::Time updated;
  Outcome state = Outcome::kPending;
  bool reconciled = false;  // Settled from Binance's records, not its answer.
  bool retryable =
      false;  // REJECTED, not executed, and a repeat may try again.
  std::string transaction_id;
  // What Binance says it moved when SUCCEEDED, if it differs from `amount`
  // (a repay pays min(what is owed and available, what was asked)).
  std::string result_amount;
  std::string error;  // Serialized google.rpc.Status when REJECTED or UNKNOWN.
  // Why reconciliation left it open (ambiguous records) or reopened it.
  std::string note;
  // PENDING and worked on by another live gateway sharing the journal: a
  // repeat waits for that call's outcome, reconciliation leaves it alone.
  bool in_flight_elsewhere = false;

  // The same caller asking the same thing: a repeat of this record, never a
  // new borrow. Another caller's request_id is never its own.
  bool SameIntent(const JournalRecord& other) const {
    return SameCaller(caller, other.caller) && kind == other.kind &&
           group_id == other.group_id && asset == other.asset &&
           amount == other.amount;
  }
  // Whether `intent`, a repeat of this record, is attempted again (back to
  // PENDING, a new borrow at Binance): only a rejection that executed nothing
  // and said when to try again, repeated by its caller unchanged. Such a
  // repeat is a new borrow for the caller's rolling caps too.
  bool AttemptedAgainBy(const JournalRecord& intent) const {
    return state == Outcome::kRejected && retryable && !reconciled &&
           SameIntent(intent);
  }
};

// What one signed request may have done at Binance.
enum class AttemptState {
  kSent,         // May have executed (or still in flight).
  kNotExecuted,  // Never left, or Binance refused it without executing.
  kExecuted,     // Binance's answer (or its records) said it executed.
};

// How journals store an attempt's state.
inline absl::string_view AttemptStateName(AttemptState state) {
  switch (state) {
    case AttemptState::kSent:
      return "SENT";
    case AttemptState::kNotExecuted:
      return "NOT_EXECUTED";
    case AttemptState::kExecuted:
      return "EXECUTED";
  }
  return "SENT";
}
inline AttemptState ParseAttemptState(absl::string_view name) {
  return name == "EXECUTED"       ? AttemptState::kExecuted
         : name == "NOT_EXECUTED" ? AttemptState::kNotExecuted
                                  : AttemptState::kSent;
}

// One signed request of a borrow, journaled before it is sent: Binance can
// only execute it within the window its timestamp and recvWindow give, which
// is what reconciliation attributes Binance's records by.
struct AttemptRecord {
  OperationKind kind = OperationKind::kBorrow;
  std::string request_id;
  int seq = 0;  // 1, 2, ... per request_id.
  int64_t group_id = 0;
  std::string asset;
  std::string amount;
  int64_t signed_ms = 0;  // The signed `timestamp` (Binance's time).
  int64_t recv_window_ms = 0;
  AttemptState state = AttemptState::kSent;
  // BeginAttempt only: the latest `signed_ms + recv_window_ms` another open
  // attempt of the risk unit may have for this one to be sent (0: none
  // checked). The pipeline waited for it; a journal shared by gateways
  // checks it again in the attempt's own transaction, where another
  // gateway's outcome written meanwhile is seen.
  int64_t others_end_by_ms = 0;
};

// What writing an outcome changed besides its own record.
struct OutcomeWritten {
  // A direct answer is the truth: when Binance's answer names a transaction
  // that reconciliation had attributed to another record, that record is
  // reopened (UNKNOWN again) and named here.
  std::string reopened_request_id;
};

// A borrow's outcome, as RecordOutcome writes it.
struct OutcomeToRecord {
  Outcome state = Outcome::kSucceeded;
  // Settled from Binance's records by reconciliation, not by its answer.
  bool reconciled = false;
  // A REJECTED the caller may repeat with the same request_id (nothing was
  // sent, and the refusal says when to try again).
  bool retryable = false;
  std::string transaction_id;  // SUCCEEDED only.
  std::string result_amount;   // SUCCEEDED: what Binance says it moved.
  std::string error;           // Otherwise: google.rpc.Status bytes.
};

// One borrow of a caller as rolling caps count it.
struct CallerBorrow {
  absl::Time created;
  std::string amount;  // Exact decimal text.
};

// Which records List returns, newest first; every filter is optional.
struct RecordQuery {
  std::optional<int64_t> group_id;
  std::optional<std::string> asset;
  std::optional<Outcome> state;
  std::optional<std::string> caller;
  std::optional<absl::Time> created_from;    // Inclusive.
  std::optional<absl::Time> created_before;  // Exclusive.
  // Keyset pagination: only records after this one in the order (created,
  // then request_id, both descending), i.e. older than the last one seen.
  struct Position {
    absl::Time created;
    std::string request_id;
  };
  std::optional<Position> after;
  int limit = 50;
};

// Unsettled records as the journal's own writes left them (metrics).
struct UnsettledCount {
  int64_t unsettled = 0;  // PENDING and UNKNOWN.
  int64_t ambiguous = 0;  // Of those, noted "ambiguous" by reconciliation.
};

// How a journal is opened.
struct JournalOpenOptions {
  // Creating a journal is an explicit first-run act: a missing one where
  // one existed would forget every request_id and every borrow in flight.
  bool create_if_missing = false;
  // A database journal's password, from a file (PostgresBorrowJournal).
  std::string password_file;
};

// BeginAttempt's refusal when another live gateway sharing the journal holds
// the risk unit's turn (its request is at Binance): nothing was written, and
// the call may try again once that one's outcome is journaled.
inline constexpr absl::string_view kRiskUnitBusyElsewhere =
    "loan-gateway/risk-unit-busy-elsewhere";
inline absl::Status RiskUnitBusyElsewhere(absl::string_view message) {
  absl::Status busy = absl::AbortedError(message);
  busy.SetPayload(kRiskUnitBusyElsewhere, absl::Cord("1"));
  return busy;
}
inline bool IsRiskUnitBusyElsewhere(const absl::Status& status) {
  return status.GetPayload(kRiskUnitBusyElsewhere).has_value();
}

// The durable journal of borrows: an intent is committed before its request
// is signed, its outcome when known, and a record is durable when a write
// returns. Thread-safe. Writes may cost an fsync, so callers run them on the
// journal's own executor. SqliteBorrowJournal (one file, one process) is the
// default; PostgresBorrowJournal keeps it in a database.
class BorrowJournal {
 public:
  virtual ~BorrowJournal() = default;

  // Writes a new intent, or returns the record already journaled under its
  // request_id (nothing is written then). A retryable REJECTED record with
  // the same intent is turned back into PENDING and returned as nullopt.
  virtual absl::StatusOr<std::optional<JournalRecord>> InsertIntent(
      const JournalRecord& intent) = 0;

  // Records the outcome of a borrow. Only a PENDING record, or with
  // `reconciled` an UNKNOWN one, may change: a settled outcome is never
  // overwritten (FAILED_PRECONDITION then). Its attempts follow: a direct
  // REJECTED marks them not executed, SUCCEEDED executed; UNKNOWN and a
  // reconciled REJECTED leave them open (they may still own a record).
  virtual absl::StatusOr<OutcomeWritten> RecordOutcome(
      const std::string& request_id, const OutcomeToRecord& outcome) = 0;

  // Journals a signed request before it is sent. Earlier attempts of the
  // same request_id are marked not executed: the gateway sends again only
  // what provably never executed. It also takes the risk unit's turn, held
  // until RecordOutcome: a journal shared by gateways refuses with
  // RiskUnitBusyElsewhere while another live one holds it (one operation
  // of a risk unit at Binance at a time, across processes), and, being
  // shared, refuses the same way when the record is no longer this
  // process's PENDING one or `others_end_by_ms` no longer holds.
  virtual absl::Status BeginAttempt(const AttemptRecord& attempt) = 0;

  // The attempts of one borrow, in order.
  virtual absl::StatusOr<std::vector<AttemptRecord>> Attempts(
      const std::string& request_id) = 0;

  // Attempts of a risk unit and asset that may have executed and own no
  // transaction (in flight, unknown, or settled as not executed by
  // reconciliation), oldest first.
  virtual absl::StatusOr<std::vector<AttemptRecord>> OpenAttempts(
      int64_t group_id, const std::string& asset) = 0;

  // The latest `signed_ms + recv_window_ms` over the risk unit's open
  // attempts of other request_ids; nullopt when there is none. An attempt
  // whose call still holds the turn at another live gateway is in flight,
  // not unknown: it is left out (BeginAttempt waits for it instead).
  virtual absl::StatusOr<std::optional<int64_t>> LatestOpenWindowEnd(
      int64_t group_id, const std::string& except_request_id) = 0;

  // Sets an unsettled record's note (written only when it changes).
  virtual absl::Status SetNote(const std::string& request_id,
                               const std::string& note) = 0;

  // OK while the journal's storage is still the one it opened (an error once
  // its file was deleted, renamed or replaced: writes would go where no later
  // start would read them).
  virtual absl::Status CheckIntact() const = 0;

  virtual absl::StatusOr<std::optional<JournalRecord>> Get(
      const std::string& request_id) = 0;

  // PENDING and UNKNOWN records, oldest first, without the PENDING ones
  // another live process sharing the journal works on.
  virtual absl::StatusOr<std::vector<JournalRecord>> Unsettled() = 0;

  // Counts unsettled records from memory, without reading storage (a
  // metrics scrape must not queue behind journal writes), leaving out those
  // `skip` names (the calls in flight, whose records are PENDING by design).
  virtual UnsettledCount CountUnsettled(
      const std::function<bool(const std::string&)>& skip) const = 0;

  // The caller's borrows of `asset` journaled since `since` that count
  // against its caps: every state but REJECTED (in flight and UNKNOWN ones
  // included: they may have executed).
  virtual absl::StatusOr<std::vector<CallerBorrow>> CallerBorrowsSince(
      const std::string& caller, const std::string& asset,
      absl::Time since) = 0;

  // Records matching `query`, newest first, at most `query.limit`.
  virtual absl::StatusOr<std::vector<JournalRecord>> List(
      const RecordQuery& query) = 0;

  // Serialises the rolling-caps check of (caller, asset) with every other
  // process sharing the journal until the current group commits, so that
  // the check and the intent it lets in are one step (a single process
  // serialises them on its journal thread: nothing to do).
  virtual absl::Status LockCallerCaps(const std::string& /*caller*/,
                                      const std::string& /*asset*/) {
    return absl::OkStatus();
  }

  // Whether this process runs reconciliation and the retention purge now:
  // of the processes sharing a journal, one at a time (a lease that ends
  // with its holder), so that a record is settled once and purged once.
  virtual absl::StatusOr<bool> TryLeadReconciliation() { return true; }

  // Hands this process's PENDING records that no call of it works on any
  // more (an outcome that could not be written) to reconciliation, which
  // otherwise leaves a live process's PENDING records alone.
  virtual absl::Status ReleaseAbandoned(
      const std::function<bool(const std::string&)>& /*in_flight*/) {
    return absl::OkStatus();
  }

  // Whether a Binance transaction id is already attributed to a record.
  virtual absl::StatusOr<bool> TransactionClaimed(
      const std::string& transaction_id) = 0;

  // Deletes settled records last changed before `cutoff` (retention).
  virtual absl::StatusOr<int> PurgeSettledBefore(absl::Time cutoff) = 0;

  // OK while this process may write the journal now: its storage is intact
  // (CheckIntact) and, for a journal several gateways share, its storage
  // answers and this process holds the lock that tells the others it is
  // alive (asking is how it takes that lock again after a lost session).
  virtual absl::Status CheckWriter() { return CheckIntact(); }
  // Whether this process could write at its last look, from memory (a
  // metrics scrape must not wait for the journal).
  virtual bool writer() const { return true; }

  // Group commit (executor/group_commit_executor.h): between BeginGroup and
  // CommitGroup, the writes of the thread that began the group share one
  // transaction, each in a savepoint of its own (a write that fails undoes
  // only itself), and are durable only once CommitGroup returns OK; other
  // threads' calls wait for the commit. A journal that cannot group says so
  // from BeginGroup, and each write then commits by itself.
  virtual absl::Status BeginGroup() {
    return absl::UnimplementedError("this journal commits each write");
  }
  virtual absl::Status CommitGroup() { return absl::OkStatus(); }

  // The audit trail as rows of the journal's table audit_log, each line as
  // a file would hold it (JournalAuditSink): `chain` names one gateway
  // process's chain in a database that several write ("" in a file only
  // one process writes). Appending is a write like the others: inside the
  // group open on this thread, it commits with the group's writes.
  virtual absl::Status AppendAuditLines(
      const std::string& /*chain*/,
      const std::vector<ChainedAuditLine>& /*lines*/) {
    return NoAuditTable();
  }
  // The chain's whole text, in order (to verify it).
  virtual absl::StatusOr<std::string> AuditLines(const std::string& /*chain*/) {
    return NoAuditTable();
  }
  // Its last line's seq and sha256 (genesis for an empty chain).
  virtual absl::StatusOr<AuditHead> LastAuditLine(
      const std::string& /*chain*/) {
    return NoAuditTable();
  }

 private:
  static absl::Status NoAuditTable() {
    return absl::UnimplementedError("this journal has no audit table");
  }
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_BORROW_JOURNAL_H_
