#ifndef LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_
#define LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
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
  // Writes what is queued, then stops the writer thread.
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
  // Append, waiting for the outcome.
  absl::Status AppendAndWait(audit::v1::AuditRecord record);

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

  AuditLog(std::unique_ptr<AuditSink> sink, const Clock* clock, AuditHead head);
  void Run();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Commit(std::vector<Pending> batch);
  // Chains the batch's records after tail_ into `bytes`; each one's result
  // is OK (pending the write) or why it was not written.
  std::vector<absl::Status> Chain(std::vector<Pending>& batch,
                                  std::string& bytes,
                                  std::vector<ChainedAuditLine>& lines,
                                  AuditHead& tail);
  absl::Status Write(const std::vector<ChainedAuditLine>& lines,
                     const std::string& bytes);
  void Resync();
  absl::Status MarkBroken(const absl::Status& cause);
  absl::Status Failure() const;

  const std::unique_ptr<AuditSink> sink_;  // Writer thread only (and name).
  const Clock* const clock_;
  AuditHead tail_;  // The last record chained; writer thread only.
  // A recovering sink's failed write: the chain's end is read again before
  // anything more is chained (writer thread only).
  bool resync_ = false;
  absl::Status unreachable_;
  mutable absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  AuditHead head_ ABSL_GUARDED_BY(mu_);
  absl::Status broken_ ABSL_GUARDED_BY(mu_);  // The first write failure.
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> batches_{0};
  std::thread writer_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_AUDIT_AUDIT_LOG_H_
