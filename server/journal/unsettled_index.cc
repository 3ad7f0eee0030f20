#include "journal/unsettled_index.h"

#include "absl/strings/match.h"

namespace loan_gateway {

void UnsettledIndex::Reset(const std::vector<JournalRecord>& unsettled) {
  absl::MutexLock lock(&mu_);
  ambiguous_.clear();
  for (const JournalRecord& r : unsettled) {
    ambiguous_[r.request_id] = absl::StartsWith(r.note, "ambiguous");
  }
}

void UnsettledIndex::MarkUnsettled(const std::string& request_id,
                                   const std::string& note) {
  absl::MutexLock lock(&mu_);
  ambiguous_[request_id] = absl::StartsWith(note, "ambiguous");
}

void UnsettledIndex::MarkSettled(const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  ambiguous_.erase(request_id);
}

UnsettledCount UnsettledIndex::Count(
    const std::function<bool(const std::string&)>& skip) const {
  UnsettledCount count;
  absl::MutexLock lock(&mu_);
  for (const auto& [request_id, ambiguous] : ambiguous_) {
    if (skip && skip(request_id)) continue;
    ++count.unsettled;
    if (ambiguous) ++count.ambiguous;
  }
  return count;
}

}  // namespace loan_gateway
