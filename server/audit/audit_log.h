#ifndef LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_
#define LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "audit/audit_chain.h"
#include "audit/audit_sink.h"
#include "clock/clock.h"
#include "loan_gateway/audit/v1/audit_record.pb.h"

namespace loan_gateway {

// The tamper-evident audit trail: every access decision, one hash-chained
// JSON line each (audit_line.h), durable before the decision takes effect.
//
// A writer thread commits in groups: it takes every record queued so far,
// chains them (seq, prev_sha256, time), writes them with one write and one
// fdatasync, and only then tells each caller. It fails closed for good: after
// any write or fdatasync error every Append, then and later, gets
// UNAVAILABLE, because after a failed fsync Linux may have dropped the dirty
// pages and a retry could report success for records that are gone. Only a
// restart (with the cause fixed) writes again.
class AuditLog {
 public:
  // Opens `path` for appending and writes an AUDIT_OPENED record durably.
  // A regular file (created with mode 0600 when missing) is locked (a second
  // gateway on it is refused), verified and continued from its head; a
  // broken chain or a torn last line is refused with the first broken line
  // named, and the operator moves the file aside. Anything else (a FIFO to a
  // log shipper, a character device) is written without being read: a new
  // chain at seq 1. A FIFO must already have a reader, or Open fails at once.
  // `clock` must outlive the log; it stamps records that come without a
  // time.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path,
                                                        const Clock* clock);
  // The same on another sink (a table of the journal's database). A sink
  // that recovers() makes a failed write fail its batch only: the log reads
  // where the chain stands and goes on.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      std::unique_ptr<AuditSink> sink, const Clock* clock);
  // The records as writes of the journal's own transactions
  // (--audit_in_journal, --journal_url): no thread of its own, and one flush
  // for a group's journal writes and audit records together instead of two.
  // `sink` writes into the transaction open on the calling thread (or in one of
  // its own outside one) and recovers(). AUDIT_OPENED is written at once,
  // in a transaction of its own. Then a driver runs it: see SetWaker,
  // WriteQueued and Committed.
  static absl::StatusOr<std::unique_ptr<AuditLog>> OpenDriven(
      std::unique_ptr<AuditSink> sink, const Clock* clock);
  // Writes what is queued, then stops the writer thread (driven: writes it
  // in a transaction of its own; the driver must be gone).
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues `record`; the log sets its seq and prev_sha256 (and its time when
  // unset). `done` runs on the writer thread, so it must be short and must
  // not wait for the log (AppendAndWait there would wait for itself): OK
  // once the record is on disk; UNAVAILABLE when the log cannot be written;
  // INVALID_ARGUMENT (and nothing written) for a record protobuf cannot
  // print, e.g. a time outside years 1..9999. `done` may be empty. Not to
  // be called once the destructor has begun.
  void Append(audit::v1::AuditRecord record,
              std::function<void(absl::Status)> done);
  // Append, waiting for the outcome. Driven: before SetWaker it writes at
  // once, on this thread (what Open does); after, never on the driver's
  // thread (it would wait for its own group), and not while SetWaker runs.
  absl::Status AppendAndWait(audit::v1::AuditRecord record);

  // [driven] How a record appended outside the driver's transaction gets
  // one soon: `wake` asks the driver for a group (the journal executor: an
  // empty task), and returns false when the calling thread is inside one
  // already (its WriteQueued takes the record). Called once per queue, not
  // per record. nullptr detaches it (once the driver has stopped, before it
  // is destroyed): what is appended then waits for the destructor, whose
  // writing runs its `done` late.
  void SetWaker(std::function<bool()> wake);
  // [driven; the driver's thread, in its transaction, after its writes]
  // Chains what is queued and writes it through the sink.
  void WriteQueued();
  // [driven; after that transaction ended] OK: what WriteQueued wrote is
  // durable, and its callers hear so (their `done` runs here). An error:
  // none of it is, they hear UNAVAILABLE, and the next record follows the
  // last durable one.
  void Committed(const absl::Status& committed);

  // The last durable record. Worth logging where the file's writers cannot
  // reach: lines cut from the chain's end show only against it.
  AuditHead head() const;
  // False for good after a write failure.
  bool writable() const;
  // Records refused because the log could not be written (the failing
  // batch's and every one after it): a metric to alert on.
  uint64_t write_failures() const { return write_failures_; }
  // Batches written (one write and one fdatasync each).
  uint64_t batches() const { return batches_; }
  // The file's path, or where the sink writes.
  const std::string& path() const { return sink_->name(); }

 private:
  struct Pending {
    audit::v1::AuditRecord record;
    std::function<void(absl::Status)> done;
  };

  // A batch chained and handed to the sink, not yet known durable.
  struct Staged {
    std::vector<Pending> batch;
    std::vector<absl::Status> results;  // Each record's, pending the write.
    AuditHead tail;                     // The chain's end once durable.
    bool wrote = false;                 // Lines went to the sink...
    absl::Status written;               // ...and what it said.
  };

  AuditLog(std::unique_ptr<AuditSink> sink, const Clock* clock, AuditHead head,
           bool driven);
  static absl::StatusOr<std::unique_ptr<AuditLog>> OpenWith(
      std::unique_ptr<AuditSink> sink, const Clock* clock, bool driven);
  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<Pending> TakeQueue();
  // Chains `batch` and writes it through the sink.
  Staged Stage(std::vector<Pending> batch);
  // Moves the head when the write was durable, then tells each caller.
  void Settle(Staged staged, const absl::Status& durable);
  // Driven, with no driver: writes what is queued now.
  void WriteNow();
  // Chains the batch's records after tail_ into `bytes`; each one's result
  // is OK (pending the write) or why it was not written.
  std::vector<absl::Status> Chain(std::vector<Pending>& batch,
                                  std::string& bytes,
                                  std::vector<ChainedAuditLine>& lines,
                                  AuditHead& tail);
  absl::Status Write(const std::vector<ChainedAuditLine>& lines,
                     const std::string& bytes);
  // Why nothing more is written: for good (a file), or until the sink says
  // again where the chain stands (a database).
  absl::Status WriteFailed(const absl::Status& appended);
  void Resync();
  absl::Status MarkBroken(const absl::Status& cause);
  absl::Status Failure() const;

  const std::unique_ptr<AuditSink> sink_;  // Writer thread only (and name).
  const Clock* const clock_;
  const bool driven_;
  // Driven: the batch between WriteQueued and Committed (driver thread).
  std::optional<Staged> staged_;
  // Driven: held while `wake_` runs, so that SetWaker(nullptr) returns only
  // once no call into the driver is under way.
  absl::Mutex waker_mu_;
  std::function<bool()> wake_ ABSL_GUARDED_BY(waker_mu_);
  AuditHead tail_;  // The last record chained; writer thread only.
  // A recovering sink's failed write: the chain's end is read again before
  // anything more is chained (writer thread only).
  bool resync_ = false;
  absl::Status unreachable_;
  mutable absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Driven: the driver was asked for a group that has not taken the queue.
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  AuditHead head_ ABSL_GUARDED_BY(mu_);
  absl::Status broken_ ABSL_GUARDED_BY(mu_);  // The first write failure.
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> batches_{0};
  std::thread writer_;  // Not driven only.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_
