#ifndef LOAN_GATEWAY_SERVER_HALT_BORROWING_HALT_H_
#define LOAN_GATEWAY_SERVER_HALT_BORROWING_HALT_H_

#include <sys/stat.h>

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace loan_gateway {

// A halt in force: who set it, why, since when.
struct HaltRecord {
  std::string by;  // The caller's identity, or "halt file".
  std::string reason;
  absl::Time since;
  bool persisted = true;  // False: the halt file could not be written.
};

// The kill switch. Borrowing is halted while the halt file exists (put there
// by Halt, by an earlier process, or by an operator's `touch`), or while a
// halt that could not be written to it holds in this process. Halting is the
// safe direction: when in doubt (the file cannot be read), it is halted.
class BorrowingHalt {
 public:
  // `path` is --halt_file.
  explicit BorrowingHalt(std::string path);

  // The halt in force, if any.
  std::optional<HaltRecord> Current() const;

  // OK, or UNAVAILABLE / BORROWING_HALTED naming who halted and why.
  absl::Status Check() const;

  // Runs `send` unless halted; a Halt waits for a `send` running, so once
  // Halt has returned nothing more is sent.
  absl::Status RunUnlessHalted(absl::FunctionRef<void()> send);

  // Halts (a halt already in force is kept as it is, and returned).
  HaltRecord Halt(const std::string& by, const std::string& reason,
                  absl::Time now);

  // Lifts the halt: removes the file. An error (the file stays) keeps it.
  absl::Status Resume();

  const std::string& path() const { return path_; }

 private:
  static absl::Status HaltedError(const HaltRecord& halt);
  std::optional<HaltRecord> CurrentLocked() const
      ABSL_SHARED_LOCKS_REQUIRED(switch_mu_);
  absl::Status Persist(const HaltRecord& record) const;
  std::optional<HaltRecord> ReadFile(const struct stat& st) const;

  const std::string path_;
  // Writers: Halt and Resume; readers: every send.
  mutable absl::Mutex switch_mu_;
  // A halt the file could not hold.
  std::optional<HaltRecord> unpersisted_ ABSL_GUARDED_BY(switch_mu_);
  // The file's last reading, kept while it does not change (one stat() a
  // check instead of a read).
  mutable absl::Mutex cache_mu_;
  mutable struct stat cached_stat_ ABSL_GUARDED_BY(cache_mu_) {};
  mutable std::optional<HaltRecord> cached_ ABSL_GUARDED_BY(cache_mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HALT_BORROWING_HALT_H_
