#ifndef LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_
#define LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "binance/borrow_records.h"
#include "binance/signed_request.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "clock/clock.h"
#include "http/http_transport.h"
#include "journal/borrow_journal.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"
#include "reconcile/attribution.h"
#include "threads/watch_thread.h"

namespace loan_gateway {

struct ReconcilerDeps {
  HttpTransport* transport = nullptr;
  BinanceClock* binance_clock = nullptr;
  binance::Credentials credentials;
  BorrowJournal* journal = nullptr;
  const Clock* clock = nullptr;
  WeightBudget* ip_budget = nullptr;  // Optional: the SAPI IP weight.
  // True while the pipeline itself still owns the request (not to be touched).
  std::function<bool(const std::string& request_id)> in_flight;
};

// Settles every borrow whose outcome is unknown (an UNKNOWN answer, or an
// intent left PENDING by a crash) from Binance's borrow records, never by
// resending (see Attribute): a CONFIRM record of the same group, asset and
// amount inside the execution window of one of its journaled attempts, not
// attributed to another record and inside no other open attempt's window,
// means it executed; no record in its windows `settle_after` after the last
// one means it did not; anything in between stays open, with a note.
class Reconciler {
 public:
  // Takes the upstream's settings (base URLs, recvWindow) and its own:
  // how often, when "no record" means not executed, how long settled
  // records are kept.
  Reconciler(const config::v1::UpstreamConfig& upstream,
             const config::v1::ReconcileConfig& reconcile, ReconcilerDeps deps);
  ~Reconciler();  // Ends a pass in progress at its next record.

  // Runs passes every `interval` on `watch`, the first one at once (this
  // settles what a previous process left behind).
  void Start(WatchThread& watch);

  struct Pass {
    int examined = 0;
    int executed = 0;      // Settled as SUCCEEDED.
    int not_executed = 0;  // Settled as REJECTED (BORROW_NOT_EXECUTED).
    int unsettled = 0;     // Still unknown (records unreadable, or too early).
    int ambiguous = 0;     // Of those, left open as ambiguous.
  };
  // One pass over the journal's unsettled records. Blocks on Binance.
  Pass RunOnce();

  // Reads of Binance's records that failed
  // (loan_gateway_reconcile_errors_total).
  int64_t errors_total() const { return errors_total_.load(); }

 private:
  std::atomic<int64_t> errors_total_{0};
  Attribution::Kind Reconcile(const JournalRecord& r);
  absl::StatusOr<std::vector<binance::BorrowRecord>> FetchRecords(
      const JournalRecord& r, int64_t start_ms, int64_t end_ms);
  absl::StatusOr<std::string> Get(
      const std::vector<std::pair<std::string, std::string>>& params);
  void SettleExecuted(const JournalRecord& r, const std::string& transaction_id,
                      const std::string& amount);
  void SettleNotExecuted(const JournalRecord& r, const std::string& why);

  const config::v1::UpstreamConfig upstream_;
  const config::v1::ReconcileConfig reconcile_;
  const ReconcilerDeps deps_;
  absl::Notification stop_;
  std::unique_ptr<PeriodicCheck> passes_;  // Last: stops before the rest goes.
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_
