#include "service/intent_gate.h"

#include "identity/same_caller.h"

namespace loan_gateway {

bool IntentGate::Claim(const std::shared_ptr<OperationCall>& call) {
  absl::MutexLock lock(&mu_);
  return claims_.try_emplace(call->request_id, Claimant{call.get(), {}}).second;
}

void IntentGate::Unclaim(const OperationCall& call) {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(call.request_id);
  if (it != claims_.end() && it->second.call == &call) claims_.erase(it);
}

bool IntentGate::Follow(const std::string& request_id,
                        std::shared_ptr<OperationCall> follower) {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(request_id);
  // Another caller's call is never followed: its answer is not this one's.
  if (it == claims_.end() ||
      !SameCaller(it->second.call->caller, follower->caller)) {
    return false;
  }
  it->second.followers.push_back(std::move(follower));
  return true;
}

std::vector<std::shared_ptr<OperationCall>> IntentGate::Release(
    const OperationCall& call) {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(call.request_id);
  if (it == claims_.end() || it->second.call != &call) return {};
  std::vector<std::shared_ptr<OperationCall>> followers =
      std::move(it->second.followers);
  claims_.erase(it);
  return followers;
}

bool IntentGate::Claimed(const std::string& request_id) const {
  absl::MutexLock lock(&mu_);
  return claims_.contains(request_id);
}

}  // namespace loan_gateway
