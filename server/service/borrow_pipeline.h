#ifndef LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "binance/borrow_outcome.h"
#include "binance/signed_request.h"
#include "budget/ban_breaker.h"
#include "budget/weight_budget.h"
#include "clock/clock.h"
#include "clock/scheduler.h"
#include "clock/server_time.h"
#include "http/http_transport.h"
#include "institutional_loan/v1/institutional_loan.pb.h"
#include "journal/borrow_journal.h"
#include "journal/serial_executor.h"
#include "metrics/gateway_metrics.h"
#include "service/admission.h"
#include "service/risk_unit_queue.h"

namespace loan_gateway {

struct BorrowPipelineOptions {
  std::vector<std::string>
      base_urls;  // Tried in order, only while nothing was sent.
  int64_t recv_window_ms = 5000;
  absl::Duration upstream_timeout = absl::Seconds(10);
  absl::Duration max_clock_uncertainty = absl::Seconds(1);
  // A call with less time left than this is refused before anything is sent.
  absl::Duration min_time_to_send = absl::Milliseconds(200);
  size_t risk_unit_queue_limit = 16;
};

// What the pipeline needs besides its options; all outlive it.
struct BorrowPipelineDeps {
  HttpTransport* transport = nullptr;
  ServerTime* server_time = nullptr;
  binance::Credentials credentials;
  const Clock* clock = nullptr;
  WeightBudget* budget = nullptr;
  BanBreaker* breaker = nullptr;
  BorrowJournal* journal = nullptr;
  SerialExecutor* journal_executor = nullptr;  // Runs every journal write.
  Scheduler* scheduler = nullptr;  // Delays a send until a window has passed.
  GatewayMetrics* metrics = nullptr;  // Optional.
};

// The stages of one Borrow, independent of gRPC:
//   validate -> admit (deadline, clock, ban breaker) -> journal the intent
//   (idempotency by request_id) -> one in flight per risk unit -> check
//   again before sending (draining, caller gone, clock, breaker) -> wait out
//   an unknown attempt's execution window -> weight budget -> journal the
//   attempt's timestamp -> sign with it -> send (async) -> classify
//   (SUCCEEDED | REJECTED | UNKNOWN) -> journal the outcome -> answer.
// It never resends a request that may have reached Binance. Only a request
// that provably never left is tried once more against the next base URL, and
// one rejected with -1021 (not executed) is re-signed once after a resync.
// Nothing is sent after its caller left, nor once draining began.
class BorrowPipeline {
 public:
  // Runs once per call, possibly on the HTTP or journal thread. Errors carry
  // their google.rpc details and always the call's request_id.
  using Done = std::function<void(
      absl::StatusOr<institutional_loan::v1::BorrowResponse>)>;

  BorrowPipeline(BorrowPipelineOptions options, BorrowPipelineDeps deps);

  // `caller` identifies the peer for the journal and log; `deadline` is the
  // caller's; `caller_gone` (optional) says whether the caller cancelled.
  void Borrow(const institutional_loan::v1::BorrowRequest& request,
              std::string caller, absl::Time deadline, Done done,
              std::function<bool()> caller_gone = nullptr);

  // A call whose request could not even be decoded (e.g. a string field that
  // is not UTF-8): answered with `status`, logged and counted like any other
  // refused borrow.
  void Refuse(absl::Status status, std::string caller, Done done);

  // Shutting down: from now on nothing more is sent. Borrows waiting for
  // their turn are refused at once (GATEWAY_DRAINING, journaled as not
  // sent), new calls too; borrows already sent finish with their outcome.
  void BeginDrain();

  // Whether this process is still working on the request (the reconciler
  // leaves such records alone).
  bool InFlight(const std::string& request_id) const;
  // Calls started and not yet answered.
  int in_flight_count() const;

  // OK when Binance's time is known well enough to sign (else CLOCK_SKEW).
  absl::Status CheckClock() const;

 private:
  struct Call;
  void JournalIntent(const std::shared_ptr<Call>& call);
  void AnswerFromJournal(const std::shared_ptr<Call>& call,
                         const JournalRecord& record);
  void StartAttempt(const std::shared_ptr<Call>& call);
  void PrepareAndSend(const std::shared_ptr<Call>& call);
  absl::StatusOr<absl::Duration> WindowWait(const Call& call,
                                            int64_t now_ms) const;
  void WaitForWindow(const std::shared_ptr<Call>& call, absl::Duration wait);
  void Send(const std::shared_ptr<Call>& call, int64_t signed_ms);
  void OnResult(const std::shared_ptr<Call>& call, const HttpResult& result,
                absl::Duration latency);
  void ResyncAndResend(const std::shared_ptr<Call>& call,
                       absl::Status rejection);
  void Settle(const std::shared_ptr<Call>& call,
              absl::StatusOr<institutional_loan::v1::BorrowResponse> result);
  void Finish(const std::shared_ptr<Call>& call,
              absl::StatusOr<institutional_loan::v1::BorrowResponse> result);

  const BorrowPipelineOptions options_;
  const BorrowPipelineDeps deps_;
  Admission admission_;  // Every check before signing.
  RiskUnitQueue queue_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Call>> in_flight_
      ABSL_GUARDED_BY(mu_);
  // Calls holding their risk unit's turn while an earlier window passes.
  absl::flat_hash_set<std::shared_ptr<Call>> window_waiters_
      ABSL_GUARDED_BY(mu_);
  int started_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_
