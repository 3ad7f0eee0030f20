#include "audit/audit_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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

struct AppendFile {
  int fd = -1;
  bool regular = false;
};

absl::Status OpenError(const std::string& path, absl::string_view what,
                       int error) {
  return absl::UnavailableError(absl::StrCat("cannot open the audit log ", path,
                                             ": ", what, ": ",
                                             std::strerror(error)));
}

// A new file's name is durable only once its directory is synced.
absl::Status SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  const std::filesystem::path dir = parent.empty() ? "." : parent;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) return OpenError(path, "cannot sync its directory", error);
  return absl::OkStatus();
}

// Locks a regular file (two gateways appending would fork the chain) and
// makes a newly created one's name durable.
absl::Status Claim(const std::string& path, int fd, bool created) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return errno == EWOULDBLOCK
               ? absl::FailedPreconditionError(absl::StrCat(
                     "the audit log ", path,
                     " is in use by another process (another gateway?)"))
               : OpenError(path, "cannot lock it", errno);
  }
  return created ? SyncDirectoryOf(path) : absl::OkStatus();
}

// Opens `path` for appending, creating a missing one with mode 0600. Opened
// with O_NONBLOCK, which is then cleared: a FIFO that nothing reads fails at
// once (ENXIO) instead of holding the gateway's start forever.
absl::StatusOr<AppendFile> OpenForAppend(const std::string& path) {
  constexpr int kFlags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK;
  int fd = ::open(path.c_str(), kFlags);
  const bool created = fd < 0 && errno == ENOENT;
  if (created) fd = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    const int error = errno;
    return OpenError(path,
                     error == ENXIO ? "a pipe that nothing reads"
                                    : "cannot open it for appending",
                     error);
  }
  struct stat st {};
  const int flags = ::fcntl(fd, F_GETFL);
  absl::Status claimed =
      flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
              ::fstat(fd, &st) != 0
          ? OpenError(path, "cannot set it up", errno)
          : absl::OkStatus();
  if (claimed.ok() && S_ISREG(st.st_mode)) claimed = Claim(path, fd, created);
  if (!claimed.ok()) {
    ::close(fd);
    return claimed;
  }
  return AppendFile{.fd = fd, .regular = S_ISREG(st.st_mode)};
}

// The head to continue from; refuses a file whose chain does not verify.
absl::StatusOr<AuditHead> VerifyForContinuing(const std::string& path) {
  absl::StatusOr<AuditHead> head = VerifyAuditFile(path);
  if (head.ok() || !absl::IsFailedPrecondition(head.status())) return head;
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to continue the audit log: ", head.status().message(),
      ". Move ", path,
      " aside (keep it: it is evidence) and start the gateway again; it then "
      "begins a new chain"));
}

AuditRecord OpenedRecord(const AuditHead& head, bool regular) {
  AuditRecord record;
  record.set_kind(audit::v1::AUDIT_OPENED);
  record.set_detail(!regular ? "new chain (not a regular file: not read back)"
                    : head.seq > 0
                        ? absl::StrCat("continuing after seq ", head.seq)
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
  absl::StatusOr<AppendFile> file = OpenForAppend(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<AuditHead> head =
      file->regular ? VerifyForContinuing(path)
                    : AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
  if (!head.ok()) {
    ::close(file->fd);
    return head.status();
  }
  std::unique_ptr<AuditLog> log(
      new AuditLog(path, file->fd, file->regular, clock, *head));
  absl::Status opened = log->AppendAndWait(OpenedRecord(*head, file->regular));
  if (!opened.ok()) return opened;
  return log;
}

AuditLog::AuditLog(std::string path, int fd, bool regular, const Clock* clock,
                   AuditHead head)
    : path_(std::move(path)),
      fd_(fd),
      regular_(regular),
      clock_(clock),
      tail_(head),
      head_(std::move(head)) {
  writer_ = std::thread([this] {
    NameThisThread("lg-audit");
    Run();
  });
}

AuditLog::~AuditLog() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
  ::close(fd_);
}

void AuditLog::Append(AuditRecord record,
                      std::function<void(absl::Status)> done) {
  absl::MutexLock lock(&mu_);
  queue_.push_back({std::move(record), std::move(done)});
}

absl::Status AuditLog::AppendAndWait(AuditRecord record) {
  absl::Notification finished;
  absl::Status result;
  Append(std::move(record), [&](absl::Status status) {
    result = std::move(status);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
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
    Commit(std::move(batch));
  }
}

void AuditLog::Commit(std::vector<Pending> batch) {
  std::string bytes;
  AuditHead tail = tail_;
  std::vector<absl::Status> results = Chain(batch, bytes, tail);
  if (!bytes.empty()) {
    const absl::Status written = WriteDurably(bytes);
    for (absl::Status& result : results) {
      if (result.ok()) result = written;
    }
    if (written.ok()) {
      tail_ = tail;
      absl::MutexLock lock(&mu_);
      head_ = std::move(tail);
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    // UNAVAILABLE comes only from the broken log; the rest are bad records.
    if (absl::IsUnavailable(results[i])) ++write_failures_;
    if (batch[i].done) batch[i].done(std::move(results[i]));
  }
}

std::vector<absl::Status> AuditLog::Chain(std::vector<Pending>& batch,
                                          std::string& bytes, AuditHead& tail) {
  const absl::Status failure = Failure();
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
    tail = {.seq = record.seq(), .sha256 = std::move(line->sha256)};
    results.push_back(absl::OkStatus());
  }
  return results;
}

absl::Status AuditLog::WriteDurably(const std::string& bytes) {
  absl::string_view rest = bytes;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return MarkBroken("write", n < 0 ? errno : EIO);
    rest.remove_prefix(static_cast<size_t>(n));
  }
  // A pipe or a device has nothing to sync (fdatasync fails with EINVAL).
  if (regular_ && ::fdatasync(fd_) != 0) return MarkBroken("fdatasync", errno);
  ++batches_;
  return absl::OkStatus();
}

absl::Status AuditLog::MarkBroken(absl::string_view call, int error) {
  const std::string cause = absl::StrCat(call, ": ", std::strerror(error));
  LogLine("error", "audit_write_failed")
      .Str("path", path_)
      .Str("error", cause)
      .Str("effect",
           "every audited call fails until the cause is fixed and the "
           "gateway restarted")
      .Emit();
  absl::MutexLock lock(&mu_);
  broken_ = absl::UnavailableError(absl::StrCat(
      "the audit log ", path_, " cannot be written (", cause,
      "); nothing will be signed until it is fixed and the gateway "
      "restarted"));
  return broken_;
}

}  // namespace loan_gateway
