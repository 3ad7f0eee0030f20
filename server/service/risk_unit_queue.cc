#include "service/risk_unit_queue.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"

namespace loan_gateway {

absl::Status RiskUnitQueue::Enqueue(int64_t group, std::function<void()> start,
                                    std::function<void()> refuse) {
  {
    absl::MutexLock lock(&mu_);
    Line& line = lines_[group];
    if (line.busy) {
      if (line.waiting.size() >= max_waiting_) {
        return contract::RuleError(
            contract::RuleForLocal(contract::kRiskUnitBusyEvent),
            absl::StrCat(
                "risk unit ", group, " already has ", line.waiting.size(),
                " borrows waiting behind the one in flight; nothing was sent"),
            {{"group_id", absl::StrCat(group)}});
      }
      line.waiting.push_back({std::move(start), std::move(refuse)});
      return absl::OkStatus();
    }
    line.busy = true;
  }
  start();
  return absl::OkStatus();
}

void RiskUnitQueue::Done(int64_t group) {
  std::function<void()> next;
  {
    absl::MutexLock lock(&mu_);
    auto it = lines_.find(group);
    if (it == lines_.end()) return;
    if (it->second.waiting.empty()) {
      lines_.erase(it);
      return;
    }
    next = std::move(it->second.waiting.front().start);
    it->second.waiting.pop_front();
  }
  next();
}

void RiskUnitQueue::RefuseWaiting() {
  std::vector<std::function<void()>> refused;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [group, line] : lines_) {
      for (Waiting& w : line.waiting) {
        if (w.refuse) refused.push_back(std::move(w.refuse));
      }
      line.waiting.clear();
    }
  }
  for (auto& refuse : refused) refuse();
}

size_t RiskUnitQueue::waiting(int64_t group) const {
  absl::MutexLock lock(&mu_);
  auto it = lines_.find(group);
  return it == lines_.end() ? 0 : it->second.waiting.size();
}

}  // namespace loan_gateway
