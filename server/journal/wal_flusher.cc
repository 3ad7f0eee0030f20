#include "journal/wal_flusher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace loan_gateway {
namespace {

absl::StatusOr<int> OpenForSync(const std::string& path) {
  // Read-only is enough for fdatasync, and cannot write the log by mistake.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("journal: cannot open the write-ahead log ", path,
                     " to sync it: ", std::strerror(errno)));
  }
  return fd;
}

bool SameFile(int fd, const std::string& path) {
  struct stat open_file {};
  struct stat at_path {};
  return ::fstat(fd, &open_file) == 0 && ::stat(path.c_str(), &at_path) == 0 &&
         open_file.st_dev == at_path.st_dev &&
         open_file.st_ino == at_path.st_ino;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WalFlusher>> WalFlusher::Open(
    std::string wal_path, SyncFn sync) {
  absl::StatusOr<int> fd = OpenForSync(wal_path);
  if (!fd.ok()) return fd.status();
  if (!sync) sync = [](int fd) { return ::fdatasync(fd); };
  return std::unique_ptr<WalFlusher>(
      new WalFlusher(std::move(wal_path), *fd, std::move(sync)));
}

WalFlusher::WalFlusher(std::string wal_path, int fd, SyncFn sync)
    : path_(std::move(wal_path)), sync_(std::move(sync)), fd_(fd) {}

WalFlusher::~WalFlusher() { ::close(fd_); }

uint64_t WalFlusher::Committed() {
  absl::MutexLock lock(&mu_);
  return ++committed_;
}

uint64_t WalFlusher::last_committed() const {
  absl::MutexLock lock(&mu_);
  return committed_;
}

uint64_t WalFlusher::flushes() const {
  absl::MutexLock lock(&mu_);
  return flushes_;
}

absl::Status WalFlusher::failure() const {
  absl::MutexLock lock(&mu_);
  return failed_;
}

absl::Status WalFlusher::AwaitDurable(uint64_t n) {
  absl::MutexLock lock(&mu_);
  while (failed_.ok() && durable_ < n) {
    if (flushing_) {
      // Another thread's flush; it may have begun before commit n.
      mu_.Await(absl::Condition(
          +[](bool* flushing) { return !*flushing; }, &flushing_));
      continue;
    }
    flushing_ = true;
    const uint64_t covered = committed_;  // Every frame of these is written.
    mu_.Unlock();
    absl::Status synced = Sync();
    mu_.Lock();
    flushing_ = false;
    ++flushes_;
    if (!synced.ok()) {
      failed_ = std::move(synced);
    } else {
      durable_ = std::max(durable_, covered);
    }
  }
  return failed_;
}

absl::Status WalFlusher::SyncOnce() {
  if (sync_(fd_) == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "journal: fdatasync of the write-ahead log ", path_, " failed (",
      std::strerror(errno),
      "); what was committed since the last good one may be lost, so the "
      "journal takes no more writes until the gateway is restarted"));
}

absl::Status WalFlusher::Sync() {
  if (absl::Status synced = SyncOnce(); !synced.ok()) return synced;
  if (SameFile(fd_, path_)) return absl::OkStatus();
  // SQLite deletes the log only when its last connection closes, and the
  // journal's stays open: a replaced file means someone else did it. The
  // file at the path is the one SQLite writes next.
  absl::StatusOr<int> fd = OpenForSync(path_);
  if (!fd.ok()) return fd.status();
  ::close(fd_);
  fd_ = *fd;
  return SyncOnce();
}

}  // namespace loan_gateway
