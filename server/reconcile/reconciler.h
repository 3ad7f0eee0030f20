#ifndef LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_
#define LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "binance/borrow_records.h"
#include "binance/signed_request.h"
#include "clock/clock.h"
#include "clock/server_time.h"
#include "http/http_transport.h"
#include "journal/borrow_journal.h"

namespace loan_gateway {

struct ReconcilerOptions {
  std::vector<std::string> base_urls;
  int64_t recv_window_ms = 5000;
  absl::Duration interval = absl::Seconds(5);
  // With no matching record this long after the intent, the borrow is
  // settled as not executed (Binance's records can lag the borrow itself).
  absl::Duration settle_after = absl::Minutes(2);
  // How far before the intent's time records are searched.
  absl::Duration look_back = absl::Minutes(5);
  // Settled records older than this are purged (request_ids kept >= 24 h).
  absl::Duration retention = absl::Hours(48);
};

struct ReconcilerDeps {
  HttpTransport* transport = nullptr;
  ServerTime* server_time = nullptr;
  binance::Credentials credentials;
  BorrowJournal* journal = nullptr;
  const Clock* clock = nullptr;
  // True while the pipeline itself still owns the request (not to be touched).
  std::function<bool(const std::string& request_id)> in_flight;
};

// Settles every borrow whose outcome is unknown (an UNKNOWN answer, or an
// intent left PENDING by a crash) from Binance's borrow records, never by
// resending: a CONFIRM record of the same group, asset and amount at or after
// the intent, not already attributed to another journal record, means it
// executed; no such record after `settle_after` means it did not.
class Reconciler {
 public:
  Reconciler(ReconcilerOptions options, ReconcilerDeps deps);
  ~Reconciler();  // Stops the background thread.

  // Runs passes every `interval` on a thread, the first one at once (this
  // settles what a previous process left behind).
  void Start();

  struct Pass {
    int examined = 0;
    int executed = 0;      // Settled as SUCCEEDED.
    int not_executed = 0;  // Settled as REJECTED (BORROW_NOT_EXECUTED).
    int unsettled = 0;     // Still unknown (records unreadable, or too early).
  };
  // One pass over the journal's unsettled records. Blocks on Binance.
  Pass RunOnce();

 private:
  absl::StatusOr<std::vector<binance::BorrowRecord>> FetchRecords(
      const JournalRecord& r);
  absl::StatusOr<std::string> Get(
      const std::vector<std::pair<std::string, std::string>>& params);
  void SettleExecuted(const JournalRecord& r,
                      const std::string& transaction_id);
  void SettleNotExecuted(const JournalRecord& r);

  const ReconcilerOptions options_;
  const ReconcilerDeps deps_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RECONCILE_RECONCILER_H_
