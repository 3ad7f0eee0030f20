#ifndef LOAN_GATEWAY_SERVER_JOURNAL_UNSETTLED_INDEX_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_UNSETTLED_INDEX_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "journal/borrow_journal.h"

namespace loan_gateway {

// The journal's unsettled records in memory, so that a metrics scrape counts
// them without queueing behind journal writes: loaded from storage, then kept
// by each write that commits. Thread-safe, apart from the journal's own lock
// (which is held through a write's fsync).
class UnsettledIndex {
 public:
  // Replaces everything with what storage holds.
  void Reset(const std::vector<JournalRecord>& unsettled);
  void MarkUnsettled(const std::string& request_id, const std::string& note);
  void MarkSettled(const std::string& request_id);
  UnsettledCount Count(
      const std::function<bool(const std::string&)>& skip) const;

 private:
  mutable absl::Mutex mu_;
  // request_id -> whether its note says "ambiguous".
  absl::flat_hash_map<std::string, bool> ambiguous_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_UNSETTLED_INDEX_H_
