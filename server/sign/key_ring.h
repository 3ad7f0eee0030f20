#ifndef LOAN_GATEWAY_SERVER_SIGN_KEY_RING_H_
#define LOAN_GATEWAY_SERVER_SIGN_KEY_RING_H_

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sign/secret.h"
#include "sign/signer.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

// One consistent key pair: the API key Binance identifies the account by and
// the signer of the private key registered with it.
struct SigningKey {
  Secret api_key;
  std::unique_ptr<Signer> signer;
  // The first 8 hex digits of the API key's SHA-256: names the key in logs
  // (an operator compares it with `sha256sum`), never reveals it.
  std::string fingerprint;
};

// The credit account's key in force, re-read when either key file changes
// (checked every `reload_interval` on `watch`; without one, only on Reload())
// or on Reload() (SIGHUP). A change of
// either file reloads both. A new pair is checked before it replaces the old
// one: both files read (owner and group only, like at start), the API key a
// header-safe token, the private key parses, matches the key type and signs
// a test payload. A refused pair is logged (key_reload_refused, never key
// material) and counted; the old pair stays in force.
//
// Operators must replace both files together: a new API key with the old
// private key passes every local check yet Binance rejects what it signs.
// One Kubernetes Secret holding both does that (the kubelet swaps its
// `..data` symlink, so both files change at once); the ring stats the
// resolved files, reads a pair only when neither changed during the read,
// and waits for the files to settle before loading them, so that two
// renames a moment apart are read as one change.
//
// Current() hands out a snapshot: a request signed with it keeps its pair
// whatever a reload does meanwhile.
class KeyRing {
 public:
  // The first load must succeed: a gateway does not start without a key.
  static absl::StatusOr<std::unique_ptr<KeyRing>> Open(
      const std::string& api_key_file, const std::string& private_key_file,
      KeyType type, absl::Duration reload_interval, WatchThread* watch);
  ~KeyRing() = default;

  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;

  std::shared_ptr<const SigningKey> Current() const;
  // Reads both files again now; the error when the new pair was refused.
  absl::Status Reload();
  int64_t reload_failures() const { return failures_; }
  // Runs `observer` after every reload with its result and the fingerprint
  // of the key then in force (the audit trail records key changes). Once
  // OnReload returns, the previous observer is not running and never runs
  // again (pass nullptr to stop).
  void OnReload(
      std::function<void(const absl::Status&, const std::string&)> observer);

 private:
  // What the two files were (stat of each resolved path).
  struct FileStats {
    struct stat api_key {};
    struct stat private_key {};
    bool SameAs(const FileStats& other) const;
  };

  KeyRing(std::string api_key_file, std::string private_key_file, KeyType type);
  absl::StatusOr<std::shared_ptr<const SigningKey>> ReadPair(
      FileStats& read) const;
  absl::StatusOr<std::shared_ptr<const SigningKey>> ReadPairOnce() const;
  bool StatBoth(FileStats& stats) const;
  // Either file is not what was last read.
  bool Changed(const FileStats& now) const;
  // One look at the files (on the watch thread); the wait until the next.
  absl::Duration CheckFiles(absl::Duration interval);

  const std::string api_key_file_;
  const std::string private_key_file_;
  const KeyType type_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const SigningKey> current_ ABSL_GUARDED_BY(mu_);
  FileStats seen_ ABSL_GUARDED_BY(mu_);
  absl::Mutex load_mu_;  // One load at a time (SIGHUP and the watcher).
  std::atomic<int64_t> failures_{0};
  std::function<void(const absl::Status&, const std::string&)> observer_
      ABSL_GUARDED_BY(mu_);
  // A change seen and not read yet: read once the files stayed so for a
  // moment (watch thread only).
  std::optional<FileStats> settling_;
  std::unique_ptr<PeriodicCheck> watch_;  // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SIGN_KEY_RING_H_
