#include "service/readiness_watch.h"

#include "log/json_log.h"

namespace loan_gateway {

ReadinessWatch::ReadinessWatch(WatchThread& watch,
                               std::vector<Condition> conditions,
                               std::function<void(bool)> set_serving,
                               absl::Duration every)
    : conditions_(std::move(conditions)),
      set_serving_(std::move(set_serving)),
      held_(conditions_.size(), true),
      check_(
          watch,
          [this, every] {
            if (!stopped()) CheckNow();
            return every;
          },
          every) {
  CheckNow();
}

bool ReadinessWatch::stopped() const {
  absl::MutexLock lock(&mu_);
  return stopped_;
}

void ReadinessWatch::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

bool ReadinessWatch::CheckNow() {
  std::vector<absl::Status> results;
  for (const Condition& c : conditions_) results.push_back(c.check());
  absl::MutexLock lock(&mu_);
  bool all = true;
  for (size_t i = 0; i < conditions_.size(); ++i) {
    const bool ok = results[i].ok();
    all = all && ok;
    if (ok == held_[i]) continue;
    held_[i] = ok;
    LogLine(ok ? "info" : "warn", "readiness_changed")
        .Str("condition", conditions_[i].name)
        .Str("holds", ok ? "true" : "false")
        .Str("error", results[i].ToString())
        .Emit();
  }
  if (!stopped_ && serving_ != static_cast<int>(all)) {
    serving_ = all;
    set_serving_(all);
  }
  return all;
}

}  // namespace loan_gateway
