#include "audit/audit_log.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "audit/audit_line.h"
#include "log/json_log.h"
#include "proto_time/proto_time.h"
#include "threads/thread_name.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;

AuditRecord OpenedRecord(const AuditHead& head, bool reads_back) {
  AuditRecord record;
  record.set_kind(audit::v1::AUDIT_OPENED);
  record.set_detail(
      !reads_back    ? "new chain (not a regular file: not read back)"
      : head.seq > 0 ? absl::StrCat("continuing after seq ", head.seq)
                     : "new chain");
  return record;
}

// A write to a pipe whose reader is gone raises SIGPIPE, and one past
// RLIMIT_FSIZE SIGXFSZ, both fatal by default. Blocked on the writer thread
// (they are sent to the thread that wrote), write() fails with EPIPE or EFBIG
// instead, and the log fails closed rather than killing the gateway.
void BlockWriteSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGPIPE);
  sigaddset(&signals, SIGXFSZ);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    const std::string& path, const Clock* clock) {
  absl::StatusOr<std::unique_ptr<FileAuditSink>> file =
      FileAuditSink::Open(path);
  if (!file.ok()) return file.status();
  return Open(*std::move(file), clock);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    std::unique_ptr<AuditSink> sink, const Clock* clock) {
  return OpenWith(std::move(sink), clock, /*driven=*/false);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenDriven(
    std::unique_ptr<AuditSink> sink, const Clock* clock) {
  if (!sink->recovers()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the audit log ", sink->name(),
        " cannot follow a transaction: it does not recover from a failed one"));
  }
  return OpenWith(std::move(sink), clock, /*driven=*/true);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenWith(
    std::unique_ptr<AuditSink> sink, const Clock* clock, bool driven) {
  absl::StatusOr<AuditHead> head = sink->Head();
  if (!head.ok()) return head.status();
  const bool reads_back = sink->reads_back();
  std::unique_ptr<AuditLog> log(
      new AuditLog(std::move(sink), clock, *head, driven));
  absl::Status opened = log->AppendAndWait(OpenedRecord(*head, reads_back));
  if (!opened.ok()) return opened;
  return log;
}

AuditLog::AuditLog(std::unique_ptr<AuditSink> sink, const Clock* clock,
                   AuditHead head, bool driven)
    : sink_(std::move(sink)),
      clock_(clock),
      driven_(driven),
      tail_(head),
      head_(std::move(head)) {
  if (driven_) return;
  writer_ = std::thread([this] {
    NameThisThread("lg-audit");
    Run();
  });
}

AuditLog::~AuditLog() {
  if (driven_) {
    WriteNow();
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

void AuditLog::Append(AuditRecord record,
                      std::function<void(absl::Status)> done) {
  bool wake = false;
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back({std::move(record), std::move(done)});
    wake = driven_ && !woken_;
    woken_ = woken_ || wake;
  }
  if (!wake) return;
  absl::MutexLock lock(&waker_mu_);
  const bool asked = wake_ && wake_();
  if (asked) return;
  // Inside the driver's group (its WriteQueued takes the queue), or no
  // driver: the next Append asks again.
  absl::MutexLock queue_lock(&mu_);
  woken_ = false;
}

absl::Status AuditLog::AppendAndWait(AuditRecord record) {
  bool now = false;
  if (driven_) {
    absl::MutexLock lock(&waker_mu_);
    now = !wake_;
  }
  absl::Notification finished;
  absl::Status result;
  Append(std::move(record), [&](absl::Status status) {
    result = std::move(status);
    finished.Notify();
  });
  if (now) WriteNow();
  finished.WaitForNotification();
  return result;
}

void AuditLog::SetWaker(std::function<bool()> wake) {
  absl::MutexLock waker_lock(&waker_mu_);
  wake_ = std::move(wake);
  bool waiting = false;
  {
    absl::MutexLock lock(&mu_);
    waiting = wake_ && !queue_.empty();  // Queued before the driver came.
    woken_ = waiting;
  }
  if (!waiting || wake_()) return;
  absl::MutexLock lock(&mu_);
  woken_ = false;
}

void AuditLog::WriteQueued() {
  std::vector<Pending> batch = TakeQueue();
  if (batch.empty()) return;
  staged_ = Stage(std::move(batch));
}

void AuditLog::Committed(const absl::Status& committed) {
  if (!staged_) return;
  Staged staged = *std::move(staged_);
  staged_.reset();
  Settle(std::move(staged), committed);
}

void AuditLog::WriteNow() {
  std::vector<Pending> batch = TakeQueue();
  if (!batch.empty()) Settle(Stage(std::move(batch)), absl::OkStatus());
}

AuditHead AuditLog::head() const {
  absl::MutexLock lock(&mu_);
  return head_;
}

bool AuditLog::writable() const {
  absl::MutexLock lock(&mu_);
  return broken_.ok();
}

bool AuditLog::HasWork() const { return !queue_.empty() || stopping_; }

absl::Status AuditLog::Failure() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

void AuditLog::Run() {
  BlockWriteSignals();
  while (true) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_, absl::Condition(this, &AuditLog::HasWork));
      if (queue_.empty()) return;  // Stopping, and everything is written.
      batch.swap(queue_);
    }
    Settle(Stage(std::move(batch)), absl::OkStatus());
  }
}

std::vector<AuditLog::Pending> AuditLog::TakeQueue() {
  std::vector<Pending> batch;
  absl::MutexLock lock(&mu_);
  batch.swap(queue_);
  woken_ = false;
  return batch;
}

AuditLog::Staged AuditLog::Stage(std::vector<Pending> batch) {
  if (resync_) Resync();
  Staged staged{.batch = std::move(batch), .tail = tail_};
  std::string bytes;
  std::vector<ChainedAuditLine> lines;
  staged.results = Chain(staged.batch, bytes, lines, staged.tail);
  if (!bytes.empty()) {
    staged.wrote = true;
    staged.written = Write(lines, bytes);
  }
  return staged;
}

void AuditLog::Settle(Staged staged, const absl::Status& durable) {
  absl::Status written = std::move(staged.written);
  // Handed to the sink, but the transaction they went into did not commit.
  if (staged.wrote && written.ok() && !durable.ok()) {
    written = WriteFailed(durable);
  }
  if (staged.wrote && written.ok()) {
    tail_ = staged.tail;
    absl::MutexLock lock(&mu_);
    head_ = std::move(staged.tail);
  }
  std::vector<Pending>& batch = staged.batch;
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status& result = staged.results[i];
    if (result.ok()) result = written;
    // UNAVAILABLE comes only from the sink; the rest are bad records.
    if (absl::IsUnavailable(result)) ++write_failures_;
    if (batch[i].done) batch[i].done(std::move(result));
  }
}

std::vector<absl::Status> AuditLog::Chain(std::vector<Pending>& batch,
                                          std::string& bytes,
                                          std::vector<ChainedAuditLine>& lines,
                                          AuditHead& tail) {
  absl::Status failure = Failure();
  if (failure.ok() && resync_) failure = unreachable_;
  std::vector<absl::Status> results;
  results.reserve(batch.size());
  for (Pending& pending : batch) {
    if (!failure.ok()) {
      results.push_back(failure);
      continue;
    }
    AuditRecord& record = pending.record;
    record.set_seq(tail.seq + 1);
    record.set_prev_sha256(tail.sha256);
    if (!record.has_time()) {
      *record.mutable_time() = ToProtoTimestamp(clock_->Now());
    }
    absl::StatusOr<AuditLine> line = FormatAuditLine(record);
    if (!line.ok()) {  // Not chained: the next record takes its seq.
      results.push_back(line.status());
      continue;
    }
    bytes += line->text;
    lines.push_back(
        {.seq = record.seq(), .sha256 = line->sha256, .text = line->text});
    tail = {.seq = record.seq(), .sha256 = std::move(line->sha256)};
    results.push_back(absl::OkStatus());
  }
  return results;
}

absl::Status AuditLog::Write(const std::vector<ChainedAuditLine>& lines,
                             const std::string& bytes) {
  const absl::Status appended = sink_->Append(lines, bytes);
  if (appended.ok()) {
    ++batches_;
    return absl::OkStatus();
  }
  return WriteFailed(appended);
}

absl::Status AuditLog::WriteFailed(const absl::Status& appended) {
  if (!sink_->recovers()) return MarkBroken(appended);
  // What was written is unknown until the sink is read again: nothing more
  // is chained (or signed) before that.
  LogLine("error", "audit_write_failed")
      .Str("path", sink_->name())
      .Str("error", appended.ToString())
      .Str("effect",
           "audited calls fail until the audit log can be written again")
      .Emit();
  resync_ = true;
  unreachable_ = absl::UnavailableError(absl::StrCat(
      "the audit log ", sink_->name(), " cannot be written (",
      appended.message(), "); nothing is signed until it can be again"));
  return unreachable_;
}

// Where the chain stands after a failed write: the log goes on from there.
void AuditLog::Resync() {
  absl::StatusOr<AuditHead> head = sink_->Recover();
  if (!head.ok()) {
    unreachable_ = absl::UnavailableError(absl::StrCat(
        "the audit log ", sink_->name(), " cannot be read (",
        head.status().message(), "); nothing is signed until it can be"));
    return;
  }
  LogLine("info", "audit_log_recovered")
      .Str("path", sink_->name())
      .Int("seq", static_cast<int64_t>(head->seq))
      .Str("sha256", head->sha256)
      .Emit();
  resync_ = false;
  tail_ = *head;
  absl::MutexLock lock(&mu_);
  head_ = *std::move(head);
}

absl::Status AuditLog::MarkBroken(const absl::Status& cause) {
  LogLine("error", "audit_write_failed")
      .Str("path", sink_->name())
      .Str("error", std::string(cause.message()))
      .Str("effect",
           "every audited call fails until the cause is fixed and the "
           "gateway restarted")
      .Emit();
  absl::MutexLock lock(&mu_);
  broken_ = absl::UnavailableError(absl::StrCat(
      "the audit log ", sink_->name(), " cannot be written (", cause.message(),
      "); nothing will be signed until it is fixed and the gateway "
      "restarted"));
  return broken_;
}

}  // namespace loan_gateway
