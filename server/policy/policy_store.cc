#include "policy/policy_store.h"

#include "log/json_log.h"

namespace loan_gateway {
namespace {

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
         a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::Open(
    const std::string& path, absl::Duration reload_interval,
    WatchThread* watch) {
  if (path.empty()) {
    return std::unique_ptr<PolicyStore>(new PolicyStore("", nullptr));
  }
  absl::StatusOr<AccessPolicy> first = AccessPolicy::Load(path);
  if (!first.ok()) return first.status();
  LogLine("info", "policy_loaded")
      .Str("file", path)
      .Int("callers", static_cast<int64_t>(first->callers()))
      .Emit();
  std::unique_ptr<PolicyStore> store(new PolicyStore(
      path, std::make_shared<const AccessPolicy>(*std::move(first))));
  if (watch != nullptr) {
    store->watch_ = std::make_unique<PeriodicCheck>(
        *watch,
        [s = store.get(), reload_interval] {
          s->CheckFile();
          return reload_interval;
        },
        reload_interval);
  }
  return store;
}

PolicyStore::PolicyStore(std::string path,
                         std::shared_ptr<const AccessPolicy> first)
    : path_(std::move(path)), current_(std::move(first)) {
  if (!path_.empty()) stat(path_.c_str(), &seen_);
}

std::shared_ptr<const AccessPolicy> PolicyStore::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::Status PolicyStore::Reload() {
  if (path_.empty()) return absl::OkStatus();
  // Held while the observer runs: OnReload waits for it.
  absl::MutexLock serial(&reload_mu_);
  absl::Status loaded = Load();
  std::function<void(const absl::Status&)> observer;
  {
    absl::MutexLock lock(&mu_);
    observer = observer_;
  }
  if (observer) observer(loaded);
  return loaded;
}

void PolicyStore::OnReload(std::function<void(const absl::Status&)> observer) {
  absl::MutexLock serial(&reload_mu_);
  absl::MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

absl::Status PolicyStore::Load() {
  struct stat now {};
  stat(path_.c_str(), &now);
  absl::StatusOr<AccessPolicy> next = AccessPolicy::Load(path_);
  absl::MutexLock lock(&mu_);
  seen_ = now;  // A refused file is not read again until it changes.
  if (!next.ok()) {
    ++failures_;
    LogLine("error", "policy_reload_refused")
        .Str("error", next.status().ToString())
        .Str("effect", "the last good policy stays in force")
        .Emit();
    return next.status();
  }
  current_ = std::make_shared<const AccessPolicy>(*std::move(next));
  LogLine("info", "policy_loaded")
      .Str("file", path_)
      .Int("callers", static_cast<int64_t>(current_->callers()))
      .Emit();
  return absl::OkStatus();
}

void PolicyStore::CheckFile() {
  struct stat now {};
  if (stat(path_.c_str(), &now) != 0) return;  // Mid-swap: next time.
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = !SameFile(now, seen_);
  }
  if (changed) (void)Reload();
}

absl::StatusOr<std::shared_ptr<const CallerRule>> PolicyStore::Admit(
    const std::string& caller, const std::string& method) const {
  std::shared_ptr<const AccessPolicy> policy = Current();
  if (policy == nullptr) return nullptr;
  absl::StatusOr<const CallerRule*> rule = policy->Admit(caller, method);
  if (!rule.ok()) return rule.status();
  return std::shared_ptr<const CallerRule>(policy, *rule);
}

}  // namespace loan_gateway
