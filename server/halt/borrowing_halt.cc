#include "halt/borrowing_halt.h"

#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"
#include "loan_gateway/admin/v1/gateway_admin.pb.h"
#include "log/json_log.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

using admin::v1::BorrowingState;

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
         a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

std::string Errno(absl::string_view what, const std::string& path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

// Writes `text` to `path` durably: a temporary file, fsync, rename, and the
// directory's fsync, so a crash leaves the old file or the new one.
absl::Status WriteDurably(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(Errno("cannot create", tmp));
  const bool written = ::write(fd, text.data(), text.size()) ==
                           static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  const std::string error = written ? "" : Errno("cannot write", tmp);
  ::close(fd);
  if (!written) return absl::UnavailableError(error);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(Errno("cannot rename to", path));
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

}  // namespace

BorrowingHalt::BorrowingHalt(std::string path, SharedHaltStore* shared)
    : path_(std::move(path)), shared_(shared) {}

std::optional<HaltRecord> BorrowingHalt::Current() const {
  absl::ReaderMutexLock lock(&switch_mu_);
  return CurrentLocked(/*fresh=*/true);
}

std::optional<HaltRecord> BorrowingHalt::CurrentLocked(bool fresh) const {
  if (unpersisted_.has_value()) return unpersisted_;
  if (std::optional<HaltRecord> file = FileHalt()) return file;
  return SharedHalt(fresh);
}

std::optional<HaltRecord> BorrowingHalt::SharedHalt(bool fresh) const {
  if (shared_ == nullptr) return std::nullopt;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&cache_mu_);
    if (!fresh && now - shared_read_at_ < absl::Seconds(1)) {
      return shared_cached_;
    }
  }
  absl::StatusOr<std::optional<HaltRecord>> read = shared_->Read();
  // Cannot tell: halted, the safe direction.
  std::optional<HaltRecord> halt =
      read.ok() ? *read
                : HaltRecord{.by = "shared halt",
                             .reason = std::string(read.status().message()),
                             .since = now};
  absl::MutexLock lock(&cache_mu_);
  // A slower read that began earlier never replaces a newer one.
  if (now >= shared_read_at_) {
    shared_cached_ = halt;
    shared_read_at_ = now;
  }
  return halt;
}

std::optional<HaltRecord> BorrowingHalt::FileHalt() const {
  if (path_.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    // Cannot tell: halted, the safe direction.
    return HaltRecord{.by = "halt file",
                      .reason = Errno("cannot stat", path_),
                      .since = absl::Now()};
  }
  absl::MutexLock lock(&cache_mu_);
  if (!cached_.has_value() || !SameFile(st, cached_stat_)) {
    cached_ = ReadFile(st);
    cached_stat_ = st;
  }
  return cached_;
}

// The file is a BorrowingState in text format when Halt wrote it; anything
// else (an operator's empty `touch`) halts all the same.
std::optional<HaltRecord> BorrowingHalt::ReadFile(const struct stat& st) const {
  HaltRecord record{.by = "halt file " + path_,
                    .since = absl::FromUnixSeconds(st.st_mtim.tv_sec)};
  std::ifstream in(path_);
  std::stringstream text;
  text << in.rdbuf();
  BorrowingState state;
  if (google::protobuf::TextFormat::ParseFromString(text.str(), &state) &&
      !state.halted_by().empty()) {
    record.by = state.halted_by();
    record.reason = state.reason();
    if (state.has_halt_time()) {
      record.since = FromProtoTimestamp(state.halt_time());
    }
  }
  return record;
}

absl::Status BorrowingHalt::Check() const {
  absl::ReaderMutexLock lock(&switch_mu_);
  std::optional<HaltRecord> halt = CurrentLocked(/*fresh=*/false);
  return halt.has_value() ? HaltedError(*halt) : absl::OkStatus();
}

absl::Status BorrowingHalt::HaltedError(const HaltRecord& halt) {
  return contract::RuleError(
      contract::RuleForLocal(contract::kBorrowingHaltedEvent),
      absl::StrCat(
          "borrowing is halted (by ", halt.by, " at ",
          absl::FormatTime(absl::RFC3339_sec, halt.since, absl::UTCTimeZone()),
          halt.reason.empty() ? "" : ": ", halt.reason, "); nothing was sent"),
      {{"halted_by", halt.by}});
}

absl::Status BorrowingHalt::RunUnlessHalted(absl::FunctionRef<void()> send) {
  absl::ReaderMutexLock lock(&switch_mu_);
  if (std::optional<HaltRecord> halt = CurrentLocked(/*fresh=*/true)) {
    return HaltedError(*halt);
  }
  send();
  return absl::OkStatus();
}

HaltRecord BorrowingHalt::Halt(const std::string& by, const std::string& reason,
                               absl::Time now) {
  absl::WriterMutexLock lock(&switch_mu_);
  if (unpersisted_.has_value()) return *unpersisted_;
  if (std::optional<HaltRecord> file = FileHalt()) return *file;
  if (shared_ != nullptr) {
    // An unreadable store halts sends, but it is not a halt anybody set:
    // this one is written (or held here), so it outlives the outage.
    absl::StatusOr<std::optional<HaltRecord>> held = shared_->Read();
    if (held.ok() && held->has_value()) return **held;
  }
  HaltRecord record{.by = by, .reason = reason, .since = now};
  // With a shared store the halt belongs there (every gateway reads it and
  // a resume through any lifts it); a file here would keep this gateway
  // halted after a resume through another. The file stays an operator's
  // local switch (`touch`).
  absl::Status persisted =
      shared_ == nullptr ? Persist(record) : absl::OkStatus();
  if (shared_ != nullptr) {
    absl::StatusOr<HaltRecord> shared = shared_->Write(record);
    persisted = shared.status();
    if (shared.ok()) record = *shared;  // Another's halt may have come first.
    absl::MutexLock cache(&cache_mu_);
    shared_read_at_ = absl::InfinitePast();
  }
  if (!persisted.ok()) {
    record.persisted = false;
    unpersisted_ = record;
    LogLine("error", shared_ != nullptr ? "shared_halt_unwritable"
                                        : "halt_file_unwritable")
        .Str("path", path_)
        .Str("error", persisted.ToString())
        .Str("effect", "borrowing is halted in this process only")
        .Emit();
  }
  return record;
}

absl::Status BorrowingHalt::Persist(const HaltRecord& record) const {
  if (path_.empty()) return absl::FailedPreconditionError("no --halt_file");
  BorrowingState state;
  state.set_halted(true);
  state.set_halted_by(record.by);
  state.set_reason(record.reason);
  *state.mutable_halt_time() = ToProtoTimestamp(record.since);
  std::string text;
  google::protobuf::TextFormat::PrintToString(state, &text);
  return WriteDurably(path_, text);
}

absl::Status BorrowingHalt::Resume() {
  absl::WriterMutexLock lock(&switch_mu_);
  if (shared_ != nullptr) {
    if (absl::Status cleared = shared_->Clear(); !cleared.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          cleared.message(), "; borrowing stays halted on every gateway"));
    }
    absl::MutexLock cache(&cache_mu_);
    shared_read_at_ = absl::InfinitePast();
  }
  if (!path_.empty() && ::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat(
        Errno("cannot remove the halt file", path_),
        shared_ != nullptr ? "; borrowing resumed on the other gateways of the "
                             "journal and stays halted on this one"
                           : "; borrowing stays halted"));
  }
  unpersisted_.reset();
  return absl::OkStatus();
}

}  // namespace loan_gateway
