#ifndef LOAN_GATEWAY_SERVER_SERVICE_OPERATION_PIPELINE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_OPERATION_PIPELINE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "binance/signed_request.h"
#include "breaker/ban_breaker.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "clock/clock.h"
#include "clock/scheduler.h"
#include "executor/durable_executor.h"
#include "executor/executor.h"
#include "halt/borrowing_halt.h"
#include "http/http_transport.h"
#include "institutional_loan/v1/institutional_loan.pb.h"
#include "journal/borrow_journal.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"
#include "metrics/gateway_metrics.h"
#include "service/admission.h"
#include "service/borrow_limit_cache.h"
#include "service/intent_gate.h"
#include "service/operation_call.h"
#include "service/risk_unit_queue.h"

namespace loan_gateway {

// What the pipeline needs besides its options; all outlive it.
struct OperationPipelineDeps {
  HttpTransport* transport = nullptr;
  BinanceClock* binance_clock = nullptr;
  binance::Credentials credentials;
  const Clock* clock = nullptr;
  WeightBudget* budget = nullptr;
  BanBreaker* breaker = nullptr;
  BorrowJournal* journal = nullptr;
  // Runs every journal read and write, and nothing else, committing them in
  // groups: what must follow durability waits with AfterCommit.
  DurableExecutor* journal_executor = nullptr;
  // Signs and sends requests, and answers calls.
  Executor* call_executor = nullptr;
  Scheduler* scheduler = nullptr;  // Delays a send until a window has passed.
  GatewayMetrics* metrics = nullptr;  // Optional.
  BorrowingHalt* halt = nullptr;      // The kill switch; optional.
  // The audit trail (optional in unit tests): every request is recorded
  // before it is signed, every answer before the caller gets it.
  AuditLog* audit = nullptr;
  // What Binance last said each risk unit may still borrow (optional): the
  // pre-flight reads it, a -27009 fills it.
  BorrowLimitCache* limits = nullptr;
};

// The money path of one money operation (a Borrow, or a Repay: the same
// stages; the operation picks the endpoint, and whether the caller's amount
// limits, caps and the pre-flight apply), independent of gRPC, as stages
// (OperationStage; the executor each runs on in brackets):
//   Borrow       [gRPC]     validate, policy, admit (halt, deadline, clock,
//                           breaker), the pre-flight (a fresh max-borrowable
//                           below the amount); a dry run then goes to DryRun
//   DryRun       [journal]  caps, request_id, last checks, weight: answered
//                           VALIDATED or refused, nothing written
//   JournalIntent[journal]  claim the request_id, journal the intent, queue
//   PrepareAttempt[journal] last checks, wait out an unknown's window,
//                           weight, journal the attempt's timestamp
//   AuditAttempt [audit]    the group's commit (the intent and the attempt
//                           durable, one fsync for the whole group) and,
//                           side by side, the audit record of the request
//                           (none, no signature: fail closed)
//   Send         [call]     sign with it, send (async)
//   OnResult     [HTTP]     classify; DecideResend: settle, or prepare again
//   Settle       [journal]  journal the outcome, hand the risk unit on
//   Answer       [audit]    the group's commit and, side by side, the audit
//                           record of the answer, both durable, then
//   Reply        [call]     log line, metrics, answer the caller (and repeats)
// It never resends a request that may have reached Binance (DecideResend),
// and sends nothing after its caller left, nor once draining began.
class OperationPipeline {
 public:
  // Runs once per call, on the call executor. Errors carry their
  // google.rpc details and always the call's request_id.
  using Done = OperationCall::Done;

  // Takes the settings of the upstream (base URLs tried in order while
  // nothing was sent, recvWindow, timeout) and of the borrow path.
  OperationPipeline(const config::v1::UpstreamConfig& upstream,
                    const config::v1::BorrowConfig& borrow,
                    OperationPipelineDeps deps);

  // `caller` identifies the peer for the journal and log; `deadline` is the
  // caller's; `caller_gone` (optional) says whether the caller cancelled.
  // `rule` is what the access policy allows the caller (null: the insecure
  // sandbox without a policy); its risk units, assets and amount are checked
  // after validation, its rolling caps on the journal thread just before the
  // intent is journaled, so neither concurrency nor a restart gets past them.
  void Borrow(const institutional_loan::v1::BorrowRequest& request,
              std::string caller, absl::Time deadline, Done done,
              std::function<bool()> caller_gone = nullptr,
              std::shared_ptr<const CallerRule> rule = nullptr);

  // The same stages for a repay (POST .../loan-group/repay): the request's
  // fields are a borrow's; the policy checks its scope (no amount limits or
  // caps), no pre-flight; the answer's amount is what Binance repaid.
  void Repay(const institutional_loan::v1::BorrowRequest& request,
             std::string caller, absl::Time deadline, Done done,
             std::function<bool()> caller_gone = nullptr,
             std::shared_ptr<const CallerRule> rule = nullptr);

  // A call whose request could not even be decoded (e.g. a string field that
  // is not UTF-8): answered with `status`, logged and counted like any other
  // refused borrow.
  void Refuse(absl::Status status, std::string caller, Done done);

  // Shutting down: from now on nothing more is sent. Borrows waiting for
  // their turn are refused at once (GATEWAY_DRAINING, journaled as not
  // sent), new calls too; borrows already sent finish with their outcome.
  void BeginDrain();

  // Whether a call of this process is working on the request_id (the
  // reconciler leaves such records alone).
  bool WorkingOn(const std::string& request_id) const;
  // Calls received and not yet answered (draining waits for them).
  int unanswered_calls() const;
  // Requests handed to Binance whose answer has not come back yet.
  int requests_in_flight() const { return requests_in_flight_; }

  // OK when Binance's time is known well enough to sign (else CLOCK_SKEW).
  absl::Status CheckClock() const;

 private:
  using CallPtr = std::shared_ptr<OperationCall>;
  using Result = absl::StatusOr<institutional_loan::v1::BorrowResponse>;
  void Move(OperationCall& call, OperationStage next);
  void Start(OperationKind kind,
             const institutional_loan::v1::BorrowRequest& request,
             std::string caller, absl::Time deadline, Done done,
             std::function<bool()> caller_gone,
             std::shared_ptr<const CallerRule> rule);
  absl::Status PreFlight(const OperationCall& call) const;
  void JournalIntent(const CallPtr& call);
  void DryRun(const CallPtr& call);
  // The caller's rolling caps for `call`'s intent. When the journal holds
  // its request_id and a repeat is only answered from it (not attempted
  // again), sets `*answer_from` to that record instead: nothing is counted,
  // and nothing may be written for it.
  absl::Status CheckCaps(const OperationCall& call,
                         std::optional<JournalRecord>* answer_from);
  void FollowClaimed(const CallPtr& call);
  void AnswerFromJournal(const CallPtr& call, const JournalRecord& record);
  void PrepareAttempt(const CallPtr& call);
  absl::StatusOr<absl::Duration> WindowWait(const OperationCall& call,
                                            int64_t now_ms) const;
  void WaitForWindow(const CallPtr& call, absl::Duration wait);
  void WaitForTurnElsewhere(const CallPtr& call, const absl::Status& busy);
  bool DeadlineAllows(const OperationCall& call, absl::Duration wait) const;
  void RefuseRiskUnitBusy(const CallPtr& call, absl::string_view why,
                          absl::Duration retry_after);
  void HoldTurnFor(const CallPtr& call, absl::Duration wait);
  void FollowElsewhere(const CallPtr& call);
  void AnswerNotKnownYet(const CallPtr& call, absl::string_view why);
  void AuditAttempt(const CallPtr& call, int64_t signed_ms);
  void Send(const CallPtr& call, int64_t signed_ms);
  void OnResult(const CallPtr& call, const HttpResult& result,
                absl::Duration latency);
  void PrepareAgain(const CallPtr& call);
  void ResyncAndPrepareAgain(const CallPtr& call, absl::Status rejection);
  void Settle(const CallPtr& call, Result result);
  void JournalOutcome(const OperationCall& call, const Result& result);
  static void LogOutcomeNotJournaled(const OperationCall& call,
                                     const absl::Status& error);
  void Answer(const CallPtr& call, Result result);
  void Reply(const CallPtr& call, Result result);

  const config::v1::UpstreamConfig upstream_;
  const config::v1::BorrowConfig borrow_;
  const OperationPipelineDeps deps_;
  Admission admission_;  // Every check before signing.
  IntentGate intents_;   // One call per request_id; repeats follow it.
  RiskUnitQueue queue_;  // One borrow at Binance per risk unit.
  mutable absl::Mutex mu_;
  // Calls holding their risk unit's turn while an earlier window passes.
  absl::flat_hash_set<CallPtr> window_waiters_ ABSL_GUARDED_BY(mu_);
  // Repeats reading another gateway's call's record (FollowElsewhere).
  absl::flat_hash_set<CallPtr> followers_elsewhere_ ABSL_GUARDED_BY(mu_);
  int unanswered_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> requests_in_flight_{0};
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_OPERATION_PIPELINE_H_
