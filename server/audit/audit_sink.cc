#include "audit/audit_sink.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "audit/audit_line.h"

namespace loan_gateway {
namespace {

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

}  // namespace

// Opened with O_NONBLOCK, which is then cleared: a FIFO that nothing reads
// fails at once (ENXIO) instead of holding the gateway's start forever.
absl::StatusOr<std::unique_ptr<FileAuditSink>> FileAuditSink::Open(
    const std::string& path) {
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
  return std::unique_ptr<FileAuditSink>(
      new FileAuditSink(path, fd, S_ISREG(st.st_mode)));
}

FileAuditSink::~FileAuditSink() { ::close(fd_); }

// The head to continue from; refuses a file whose chain does not verify.
absl::StatusOr<AuditHead> FileAuditSink::Head() {
  if (!regular_) return AuditHead{.sha256 = std::string(kAuditGenesisSha256)};
  absl::StatusOr<AuditHead> head = VerifyAuditFile(path_);
  if (head.ok() || !absl::IsFailedPrecondition(head.status())) return head;
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to continue the audit log: ", head.status().message(),
      ". Move ", path_,
      " aside (keep it: it is evidence) and start the gateway again; it then "
      "begins a new chain"));
}

absl::Status FileAuditSink::Append(const std::vector<ChainedAuditLine>&,
                                   const std::string& bytes) {
  absl::string_view rest = bytes;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("write: ", std::strerror(n < 0 ? errno : EIO)));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  // A pipe or a device has nothing to sync (fdatasync fails with EINVAL).
  if (regular_ && ::fdatasync(fd_) != 0) {
    return absl::UnavailableError(
        absl::StrCat("fdatasync: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
