#include "budget/weight_budget.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "contract/rule_error.h"

namespace loan_gateway {

WeightBudget::WeightBudget(const Clock& clock, int64_t limit_per_minute,
                           int64_t cost, Scope scope, SharedWeightStore* shared)
    : clock_(clock),
      limit_(limit_per_minute),
      cost_(cost),
      scope_(scope),
      shared_(shared) {}

void WeightBudget::RollWindow() {
  const int64_t minute = absl::ToUnixSeconds(clock_.Now()) / 60;
  if (minute != minute_) {
    minute_ = minute;
    used_ = 0;
    owed_ = 0;  // Given back to a minute that is over.
  }
}

absl::Status WeightBudget::Reserve(bool take, int64_t weight) {
  if (shared_ != nullptr) return ReserveShared(take, weight);
  absl::MutexLock lock(&mu_);
  RollWindow();
  if (used_ + weight <= limit_) {
    if (take) used_ += weight;
    return absl::OkStatus();
  }
  return Spent(minute_, used_, weight);
}

// The database decides; this gateway's count mirrors what it said (metrics)
// and carries Binance's last report there. The lock is not held across the
// round trip: a metrics scrape must not wait for the database.
absl::Status WeightBudget::ReserveShared(bool take, int64_t weight) {
  int64_t minute = 0;
  int64_t observed = 0;
  int64_t owed = 0;
  {
    absl::MutexLock lock(&mu_);
    RollWindow();
    minute = minute_;
    observed = used_;
    if (take) std::swap(owed, owed_);
  }
  // What this gateway gave back since its last reservation goes back with
  // this one (Release makes no round trip of its own).
  absl::StatusOr<SharedWeightStore::Count> count =
      shared_->Add(minute, (take ? weight : 0) - owed, observed, limit_);
  if (!count.ok() || (take && !count->taken)) {
    absl::MutexLock lock(&mu_);
    if (minute_ == minute) owed_ += owed;  // Still owed.
  }
  if (!count.ok()) {
    return contract::RuleError(
        contract::RuleForLocal(contract::kJournalUnavailableEvent),
        absl::StrCat("the weight count the gateways share could not be "
                     "read, so nothing was signed or sent: ",
                     count.status().message()));
  }
  {
    absl::MutexLock lock(&mu_);
    RollWindow();
    if (minute_ == minute) used_ = std::max(used_, count->used);
  }
  if (take ? count->taken : count->used + weight <= limit_) {
    return absl::OkStatus();
  }
  return Spent(minute, count->used, weight);
}

absl::Status WeightBudget::Spent(int64_t minute, int64_t used,
                                 int64_t weight) const {
  const absl::Time next_minute = absl::FromUnixSeconds((minute + 1) * 60);
  return contract::ErrorForRule(
      contract::RuleForLocal(contract::kWeightSpentEvent),
      absl::StrCat(
          scope_ == Scope::kUid
              ? "the credit account's Binance weight for this minute is spent ("
              : "this gateway's Binance IP weight for this minute is spent (",
          used, " of ", limit_, " used, ",
          scope_ == Scope::kUid ? "a borrow" : "a read", " needs ", weight,
          "); nothing was sent"),
      {{"weight_used", absl::StrCat(used)},
       {"weight_limit", absl::StrCat(limit_)}},
      std::max(absl::Milliseconds(1), next_minute - clock_.Now()),
      scope_ == Scope::kUid ? "binance_credit_account_uid_weight_1m"
                            : "binance_ip_weight_1m",
      absl::StrCat(used, " of ", limit_, " weight used this minute"));
}

void WeightBudget::Release() {
  absl::MutexLock lock(&mu_);
  RollWindow();
  if (shared_ != nullptr) {
    owed_ += cost_;  // Given back with the next reservation.
    return;
  }
  used_ = std::max<int64_t>(0, used_ - cost_);
}

void WeightBudget::ObserveUsed(int64_t used) {
  absl::MutexLock lock(&mu_);
  RollWindow();
  // Binance's count is authoritative. It can be lower than ours only when our
  // minute and Binance's disagree at a boundary; keep the larger to stay safe.
  used_ = std::max(used_, used);
}

int64_t WeightBudget::used() const {
  absl::MutexLock lock(&mu_);
  return used_;
}

}  // namespace loan_gateway
