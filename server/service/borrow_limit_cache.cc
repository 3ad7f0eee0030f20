#include "service/borrow_limit_cache.h"

namespace loan_gateway {

void BorrowLimitCache::Put(int64_t group_id, const std::string& asset,
                           std::string max_amount, absl::Time read_at) {
  absl::MutexLock lock(&mu_);
  Limit& limit = limits_[{group_id, asset}];
  // An older reading never replaces a newer one.
  if (read_at < limit.read_at) return;
  limit = {std::move(max_amount), read_at};
}

std::optional<BorrowLimitCache::Limit> BorrowLimitCache::Fresh(
    int64_t group_id, const std::string& asset, absl::Time now,
    absl::Duration max_age) const {
  absl::MutexLock lock(&mu_);
  auto it = limits_.find({group_id, asset});
  if (it == limits_.end() || now - it->second.read_at > max_age ||
      it->second.read_at > now) {
    return std::nullopt;
  }
  return it->second;
}

void BorrowLimitCache::Forget(int64_t group_id) {
  absl::MutexLock lock(&mu_);
  for (auto it = limits_.begin(); it != limits_.end();) {
    it = it->first.first == group_id ? limits_.erase(it) : std::next(it);
  }
}

}  // namespace loan_gateway
