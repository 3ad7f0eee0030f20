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
#include "halt/shared_halt_store.h"

namespace loan_gateway {

// The kill switch. Borrowing is halted while the halt file exists (put there
// by Halt, by an earlier process, or by an operator's `touch`), while the
// shared store (the journal's database, when gateways share one) holds a
// halt, or while a halt that could not be written holds in this process.
// Halting is the safe direction: when in doubt (the file or the store cannot
// be read), it is halted.
class BorrowingHalt {
 public:
  // `path` is --halt_file; `shared` (may be null) outlives this.
  explicit BorrowingHalt(std::string path, SharedHaltStore* shared = nullptr);

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
  // `fresh`: the shared store is read now, not from the last second's read
  // (what decides a send, or answers an operator, is never a cached value).
  std::optional<HaltRecord> CurrentLocked(bool fresh) const
      ABSL_SHARED_LOCKS_REQUIRED(switch_mu_);
  std::optional<HaltRecord> FileHalt() const;
  std::optional<HaltRecord> SharedHalt(bool fresh) const;
  absl::Status Persist(const HaltRecord& record) const;
  std::optional<HaltRecord> ReadFile(const struct stat& st) const;

  const std::string path_;
  SharedHaltStore* const shared_;
  // Writers: Halt and Resume; readers: every send.
  mutable absl::Mutex switch_mu_;
  // A halt the file could not hold.
  std::optional<HaltRecord> unpersisted_ ABSL_GUARDED_BY(switch_mu_);
  // The file's last reading, kept while it does not change (one stat() a
  // check instead of a read).
  mutable absl::Mutex cache_mu_;
  mutable struct stat cached_stat_ ABSL_GUARDED_BY(cache_mu_) {};
  mutable std::optional<HaltRecord> cached_ ABSL_GUARDED_BY(cache_mu_);
  // The shared store's last reading, and when it was read.
  mutable std::optional<HaltRecord> shared_cached_ ABSL_GUARDED_BY(cache_mu_);
  mutable absl::Time shared_read_at_ ABSL_GUARDED_BY(cache_mu_) =
      absl::InfinitePast();
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_HALT_BORROWING_HALT_H_
