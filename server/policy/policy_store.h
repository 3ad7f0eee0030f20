#ifndef LOAN_GATEWAY_SERVER_POLICY_POLICY_STORE_H_
#define LOAN_GATEWAY_SERVER_POLICY_POLICY_STORE_H_

#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "policy/access_policy.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

// The access policy in force, re-read when its file changes (checked every
// `reload_interval` on `watch`; without one, only on Reload()) or on Reload()
// (SIGHUP). A new file that does not load
// is refused with a log line and counted; the last good policy stays in
// force. With an empty path there is no policy: Current() is null, which
// only the insecure sandbox accepts.
class PolicyStore {
 public:
  // The first load must succeed: a gateway does not start without a policy.
  static absl::StatusOr<std::unique_ptr<PolicyStore>> Open(
      const std::string& path, absl::Duration reload_interval,
      WatchThread* watch);
  ~PolicyStore() = default;

  std::shared_ptr<const AccessPolicy> Current() const;
  // The caller's rule for `method` under the policy in force, sharing that
  // policy's ownership (a reload may replace it while the call lasts); null
  // without a policy (the insecure sandbox: everyone); else its refusal.
  absl::StatusOr<std::shared_ptr<const CallerRule>> Admit(
      const std::string& caller, const std::string& method) const;
  // Reads the file again now; the error when it was refused.
  absl::Status Reload();
  int64_t reload_failures() const { return failures_; }
  // Runs `observer` after every reload (SIGHUP or a changed file) with its
  // result, on the reloading thread. Once OnReload returns, the previous
  // observer is not running and never runs again (pass nullptr to stop).
  void OnReload(std::function<void(const absl::Status&)> observer);

 private:
  PolicyStore(std::string path, std::shared_ptr<const AccessPolicy> first);
  // One look at the file (on the watch thread).
  void CheckFile();
  absl::Status Load();

  const std::string path_;
  absl::Mutex reload_mu_;  // One reload at a time, observer included.
  mutable absl::Mutex mu_;
  std::shared_ptr<const AccessPolicy> current_ ABSL_GUARDED_BY(mu_);
  struct stat seen_ ABSL_GUARDED_BY(mu_) {};
  std::atomic<int64_t> failures_{0};
  std::function<void(const absl::Status&)> observer_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<PeriodicCheck> watch_;  // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_POLICY_POLICY_STORE_H_
