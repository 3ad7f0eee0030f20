#include "service/borrow_pipeline.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "binance/error_table.h"
#include "binance/execution_window.h"
#include "errors/error_details.h"
#include "log/json_log.h"
#include "service/request_id.h"
#include "service/resend_policy.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

struct BorrowPipeline::Call {
  std::string request_id;
  std::string caller;
  std::optional<ValidBorrow> borrow;
  Done done;
  std::function<bool()> caller_gone;  // Optional: the caller cancelled.
  absl::Time started;
  absl::Time deadline;
  absl::Duration upstream_latency;
  size_t base_url_index = 0;
  bool resigned = false;     // Already re-signed once after -1021.
  bool holds_group = false;  // Owns its risk unit's turn in the queue.
  bool replayed = false;     // Answered from the journal (a repeat).
  int attempts = 0;          // Requests sent to Binance for this call.
  std::vector<std::shared_ptr<Call>> waiters;  // Repeats waiting for this one.
  // What the call came to: picks the journal state and labels the log line
  // and the metrics. A refusal before sending is REJECTED (nothing left).
  binance::OutcomeClass outcome = binance::OutcomeClass::kRejected;
  std::string reason;
  std::optional<int64_t> binance_code;
  long http_status = 0;
  std::string transport_error;
};

namespace {

std::string ReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return errors::GetDetail(status, &info) ? info.reason() : "";
}

std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  google::rpc::RetryInfo retry;
  if (!errors::GetDetail(status, &retry)) return std::nullopt;
  return absl::Seconds(retry.retry_delay().seconds()) +
         absl::Nanoseconds(retry.retry_delay().nanos());
}

BorrowResponse ResponseFor(const ValidBorrow& borrow,
                           std::string transaction_id, std::string amount) {
  BorrowResponse response;
  response.set_transaction_id(std::move(transaction_id));
  response.set_amount(std::move(amount));
  response.set_status(institutional_loan::v1::BORROW_STATUS_SUCCEEDED);
  response.set_group_id(borrow.group_id);
  response.set_asset(borrow.asset);
  return response;
}

}  // namespace

BorrowPipeline::BorrowPipeline(BorrowPipelineOptions options,
                               BorrowPipelineDeps deps)
    : options_(std::move(options)),
      deps_(deps),
      admission_({.recv_window_ms = options_.recv_window_ms,
                  .max_clock_uncertainty = options_.max_clock_uncertainty,
                  .min_time_to_send = options_.min_time_to_send},
                 *deps_.clock, *deps_.server_time, *deps_.breaker,
                 *deps_.budget),
      queue_(options_.risk_unit_queue_limit) {}

bool BorrowPipeline::InFlight(const std::string& request_id) const {
  absl::MutexLock lock(&mu_);
  return in_flight_.contains(request_id);
}

int BorrowPipeline::in_flight_count() const {
  absl::MutexLock lock(&mu_);
  return started_;
}

absl::Status BorrowPipeline::CheckClock() const {
  return admission_.CheckClock();
}

namespace {

absl::Status JournalUnavailable(const absl::Status& cause) {
  return binance::RuleError(
      binance::RuleForLocal(binance::kJournalUnavailableEvent),
      absl::StrCat("the journal cannot be written, so nothing was signed or "
                   "sent: ",
                   cause.message()));
}

}  // namespace

void BorrowPipeline::Borrow(const BorrowRequest& request, std::string caller,
                            absl::Time deadline, Done done,
                            std::function<bool()> caller_gone) {
  auto call = std::make_shared<Call>();
  call->caller = std::move(caller);
  call->done = std::move(done);
  call->caller_gone = std::move(caller_gone);
  call->started = deps_.clock->Now();
  call->deadline = deadline;
  call->request_id = IsUuid(request.request_id())
                         ? CanonicalRequestId(request.request_id())
                         : GenerateRequestId();
  {
    absl::MutexLock lock(&mu_);
    ++started_;
  }
  absl::StatusOr<ValidBorrow> borrow = ValidateBorrowRequest(request);
  if (!borrow.ok()) {
    // An invalid caller-given id is echoed as given, so the caller can match
    // it.
    if (!request.request_id().empty()) {
      call->request_id = std::string(Utf8Prefix(request.request_id(), 128));
    }
    Finish(call, borrow.status());
    return;
  }
  call->borrow = *std::move(borrow);
  if (absl::Status admitted = admission_.BeforeJournal(call->deadline);
      !admitted.ok()) {
    Finish(call, admitted);
    return;
  }
  deps_.journal_executor->Post([this, call] { JournalIntent(call); });
}

void BorrowPipeline::Refuse(absl::Status status, std::string caller,
                            Done done) {
  auto call = std::make_shared<Call>();
  call->caller = std::move(caller);
  call->done = std::move(done);
  call->started = deps_.clock->Now();
  call->request_id = GenerateRequestId();  // None could be read.
  {
    absl::MutexLock lock(&mu_);
    ++started_;
  }
  Finish(call, std::move(status));
}

// On the journal thread: the intent is durable before anything is signed.
void BorrowPipeline::JournalIntent(const std::shared_ptr<Call>& call) {
  JournalRecord intent;
  intent.request_id = call->request_id;
  intent.caller = call->caller;
  intent.group_id = call->borrow->group_id;
  intent.asset = call->borrow->asset_name;
  intent.amount = call->borrow->amount.text();
  intent.created = deps_.clock->Now();
  // Registered before the commit, so the reconciler never sees this intent
  // as abandoned. A concurrent call with the same id (already registered)
  // finds the journaled intent below and waits for it.
  bool registered = false;
  {
    absl::MutexLock lock(&mu_);
    registered = in_flight_.try_emplace(call->request_id, call).second;
  }
  auto unregister = [&] {
    if (!registered) return;
    absl::MutexLock lock(&mu_);
    in_flight_.erase(call->request_id);
  };
  const absl::Time intent_write_started = absl::Now();
  absl::StatusOr<std::optional<JournalRecord>> existing =
      deps_.journal->InsertIntent(intent);
  if (deps_.metrics) {
    deps_.metrics->RecordJournalWrite(absl::Now() - intent_write_started);
  }
  if (!existing.ok()) {
    unregister();
    Finish(call, JournalUnavailable(existing.status()));
    return;
  }
  if (existing->has_value() || !registered) {
    unregister();
    AnswerFromJournal(call, existing->has_value() ? **existing : intent);
    return;
  }
  absl::Status queued = queue_.Enqueue(
      call->borrow->group_id, [this, call] { StartAttempt(call); },
      [this, call] { Settle(call, Admission::DrainingError()); });
  if (!queued.ok()) Settle(call, queued);
}

// A repeat of a journaled request_id: never a second borrow.
void BorrowPipeline::AnswerFromJournal(const std::shared_ptr<Call>& call,
                                       const JournalRecord& record) {
  call->replayed = true;
  JournalRecord asked;
  asked.group_id = call->borrow->group_id;
  asked.asset = call->borrow->asset_name;
  asked.amount = call->borrow->amount.text();
  if (!record.SameIntent(asked)) {
    Finish(call,
           binance::RuleError(
               binance::RuleForLocal(binance::kRequestIdConflictEvent),
               absl::StrCat("request_id ", record.request_id,
                            " was already used for another borrow (risk unit ",
                            record.group_id, ", ", record.amount, " ",
                            record.asset,
                            "); use a new request_id for a new borrow"),
               {{"existing_group_id", absl::StrCat(record.group_id)},
                {"existing_asset", record.asset},
                {"existing_amount", record.amount}}));
    return;
  }
  switch (record.state) {
    case JournalState::kSucceeded:
      call->outcome = binance::OutcomeClass::kSucceeded;
      Finish(call,
             ResponseFor(*call->borrow, record.transaction_id, record.amount));
      return;
    case JournalState::kRejected:
    case JournalState::kUnknown: {
      google::rpc::Status rpc;
      rpc.ParseFromString(record.error);
      call->outcome = record.state == JournalState::kRejected
                          ? binance::OutcomeClass::kRejected
                          : binance::OutcomeClass::kUnknown;
      Finish(call, rpc.code() != 0
                       ? errors::FromRpcStatus(rpc)
                       : errors::MakeError(absl::StatusCode::kUnknown,
                                           "stored outcome unreadable",
                                           "BORROW_OUTCOME_UNKNOWN"));
      return;
    }
    case JournalState::kPending:
      break;
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(record.request_id);
    if (it != in_flight_.end()) {
      it->second->waiters.push_back(
          call);  // Answered with the first call's result.
      return;
    }
  }
  call->outcome = binance::OutcomeClass::kUnknown;
  Finish(call,
         binance::RuleError(
             binance::RuleForTransport(binance::kMaybeSentEvent),
             "this request_id's borrow was interrupted and its outcome is not "
             "settled yet; reconciliation is reading Binance's records. Do not "
             "resend it"));
}

// The risk unit's turn: it stays this call's until the outcome is journaled.
void BorrowPipeline::StartAttempt(const std::shared_ptr<Call>& call) {
  call->holds_group = true;
  PrepareAndSend(call);
}

// On the journal thread: checks, waits out an earlier attempt's window if
// needed, takes the weight, and journals the attempt's timestamp before it is
// signed with it and sent.
void BorrowPipeline::PrepareAndSend(const std::shared_ptr<Call>& call) {
  if (absl::Status ready =
          admission_.BeforeSend(call->deadline, call->caller_gone);
      !ready.ok()) {
    Settle(call, ready);
    return;
  }
  absl::StatusOr<int64_t> now_ms = deps_.server_time->NowMs();
  if (!now_ms.ok()) {
    Settle(call, CheckClock());
    return;
  }
  absl::StatusOr<absl::Duration> wait = WindowWait(*call, *now_ms);
  if (!wait.ok()) {
    Settle(call, JournalUnavailable(wait.status()));
    return;
  }
  if (*wait > absl::ZeroDuration()) {
    WaitForWindow(call, *wait);
    return;
  }
  if (absl::Status reserved = admission_.ReserveWeight(); !reserved.ok()) {
    Settle(call, reserved);
    return;
  }
  const absl::Time write_started = absl::Now();
  absl::Status journaled =
      deps_.journal->BeginAttempt({.request_id = call->request_id,
                                   .group_id = call->borrow->group_id,
                                   .asset = call->borrow->asset_name,
                                   .amount = call->borrow->amount.text(),
                                   .signed_ms = *now_ms,
                                   .recv_window_ms = options_.recv_window_ms});
  if (deps_.metrics) {
    deps_.metrics->RecordJournalWrite(absl::Now() - write_started);
  }
  if (!journaled.ok()) {
    admission_.ReleaseWeight();
    Settle(call, JournalUnavailable(journaled));
    return;
  }
  Send(call, *now_ms);
}

// How long until a request of this risk unit signed now could not share
// Binance's execution window with an earlier attempt whose outcome is open
// (unknown, or crashed in flight): a record then belongs to one attempt.
absl::StatusOr<absl::Duration> BorrowPipeline::WindowWait(
    const Call& call, int64_t now_ms) const {
  absl::StatusOr<std::optional<int64_t>> last_end =
      deps_.journal->LatestOpenWindowEnd(call.borrow->group_id,
                                         call.request_id);
  if (!last_end.ok()) return last_end.status();
  if (!last_end->has_value()) return absl::ZeroDuration();
  // `signed_ms + recv_window_ms` is the last moment Binance accepts it.
  const int64_t first_allowed =
      binance::FirstTimestampAfter(**last_end + binance::kRecordLagMs);
  return absl::Milliseconds(std::max<int64_t>(0, first_allowed - now_ms));
}

void BorrowPipeline::WaitForWindow(const std::shared_ptr<Call>& call,
                                   absl::Duration wait) {
  const absl::Duration left = call->deadline - deps_.clock->Now();
  if (left - wait < options_.min_time_to_send) {
    absl::Status busy = binance::RuleError(
        binance::RuleForLocal(binance::kRiskUnitBusyEvent),
        absl::StrCat("risk unit ", call->borrow->group_id,
                     " has an earlier borrow whose outcome is unknown and "
                     "which Binance could still execute for ",
                     absl::FormatDuration(wait),
                     "; a borrow sent now could not be told apart from it, "
                     "and the call's deadline ends first. Nothing was sent"),
        {{"group_id", absl::StrCat(call->borrow->group_id)}});
    errors::AttachRetryInfo(busy, wait);
    Settle(call, busy);
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    window_waiters_.insert(call);
  }
  LogLine("info", "risk_unit_window_wait")
      .Str("request_id", call->request_id)
      .Int("group_id", call->borrow->group_id)
      .Ms("wait_ms", wait)
      .Emit();
  deps_.scheduler->RunAfter(wait, [this, call] {
    {
      absl::MutexLock lock(&mu_);
      if (window_waiters_.erase(call) == 0) return;  // Refused by a drain.
    }
    deps_.journal_executor->Post([this, call] { PrepareAndSend(call); });
  });
}

void BorrowPipeline::Send(const std::shared_ptr<Call>& call,
                          int64_t signed_ms) {
  absl::StatusOr<HttpRequest> request = binance::BuildBorrowRequest(
      *call->borrow, options_.base_urls[call->base_url_index], signed_ms,
      options_.recv_window_ms, deps_.credentials);
  if (!request.ok()) {
    admission_.ReleaseWeight();
    Settle(call,
           binance::RuleError(
               binance::RuleForLocal(binance::kSigningFailedEvent),
               "the gateway could not sign the request; nothing was sent"));
    return;
  }
  request->timeout = options_.upstream_timeout;
  ++call->attempts;
  const absl::Time sent_at = deps_.clock->Now();
  deps_.transport->Send(
      *std::move(request), [this, call, sent_at](const HttpResult& result) {
        const absl::Duration latency = deps_.clock->Now() - sent_at;
        call->upstream_latency += latency;
        OnResult(call, result, latency);
      });
}

void BorrowPipeline::BeginDrain() {
  std::vector<std::shared_ptr<Call>> waiting;
  {
    absl::MutexLock lock(&mu_);
    admission_.BeginDrain();
    waiting.assign(window_waiters_.begin(), window_waiters_.end());
    window_waiters_.clear();
  }
  queue_.RefuseWaiting();
  for (const std::shared_ptr<Call>& call : waiting) {
    Settle(call, Admission::DrainingError());
  }
}

void BorrowPipeline::OnResult(const std::shared_ptr<Call>& call,
                              const HttpResult& result,
                              absl::Duration latency) {
  if (auto it = result.headers.find("x-sapi-used-uid-weight-1m");
      it != result.headers.end()) {
    int64_t used = 0;
    if (absl::SimpleAtoi(it->second, &used)) deps_.budget->ObserveUsed(used);
  }
  // Classified once: the metrics and every decision below read this.
  binance::BorrowOutcome outcome =
      binance::ClassifyBorrowResult(result, *call->borrow);
  if (deps_.metrics) {
    deps_.metrics->RecordUpstream(outcome.binance_code, outcome.http_status,
                                  latency);
  }
  const ResendDecision decision =
      DecideResend({.delivery = result.delivery,
                    .outcome = outcome.outcome,
                    .binance_code = outcome.binance_code},
                   {.base_url_index = call->base_url_index,
                    .base_url_count = options_.base_urls.size(),
                    .resigned = call->resigned});
  if (result.delivery == Delivery::kNotSent) admission_.ReleaseWeight();
  if (decision == ResendDecision::kNextBaseUrl) {
    // Provably never left this process: safe to try the next base URL once.
    LogLine("warn", "upstream_unreachable")
        .Str("request_id", call->request_id)
        .Str("base_url", options_.base_urls[call->base_url_index])
        .Str("error", result.error)
        .Emit();
    ++call->base_url_index;
    deps_.journal_executor->Post([this, call] { PrepareAndSend(call); });
    return;
  }
  call->outcome = outcome.outcome;
  call->binance_code = outcome.binance_code;
  call->http_status = outcome.http_status;
  call->transport_error = result.error;
  if (outcome.outcome == binance::OutcomeClass::kSucceeded) {
    Settle(call, ResponseFor(*call->borrow, outcome.receipt->transaction_id,
                             outcome.receipt->amount.value_or(
                                 call->borrow->amount.text())));
    return;
  }
  const bool banned =
      outcome.http_status == 429 || outcome.http_status == 418 ||
      outcome.http_status == 403 || outcome.binance_code == -1003;
  if (banned) {
    deps_.breaker->Trip(
        outcome.error, RetryDelayOf(outcome.error).value_or(absl::Seconds(60)));
  }
  if (decision == ResendDecision::kResyncAndResign) {
    ResyncAndResend(call, outcome.error);
    return;
  }
  Settle(call, outcome.error);
}

// -1021 means Binance refused the timestamp without executing anything: the
// one case where sending again is safe. Resync the clock, then re-sign once.
void BorrowPipeline::ResyncAndResend(const std::shared_ptr<Call>& call,
                                     absl::Status rejection) {
  call->resigned = true;
  LogLine("warn", "clock_skew_resync")
      .Str("request_id", call->request_id)
      .Emit();
  deps_.server_time->SyncAsync(
      absl::Seconds(5), [this, call, rejection = std::move(rejection)](
                            const absl::Status& synced) {
        if (!synced.ok()) {
          Settle(call, rejection);
          return;
        }
        deps_.journal_executor->Post([this, call] { PrepareAndSend(call); });
      });
}

// Journals the outcome (on the journal thread), then answers and hands the
// risk unit to the next borrow.
void BorrowPipeline::Settle(const std::shared_ptr<Call>& call,
                            absl::StatusOr<BorrowResponse> result) {
  deps_.journal_executor->Post([this, call,
                                result = std::move(result)]() mutable {
    JournalState state = JournalState::kSucceeded;
    std::string transaction_id, error;
    bool retryable = false;
    if (result.ok()) {
      transaction_id = result->transaction_id();
    } else {
      absl::Status status = result.status();
      errors::AddErrorMetadata(status, {{"request_id", call->request_id}});
      state = call->outcome == binance::OutcomeClass::kUnknown
                  ? JournalState::kUnknown
                  : JournalState::kRejected;
      retryable =
          state == JournalState::kRejected && RetryDelayOf(status).has_value();
      error = errors::ToRpcStatus(status).SerializeAsString();
      result = status;
    }
    const absl::Time write_started = absl::Now();
    absl::StatusOr<OutcomeWritten> journaled = deps_.journal->RecordOutcome(
        call->request_id, {.state = state,
                           .retryable = retryable,
                           .transaction_id = transaction_id,
                           .error = error});
    if (deps_.metrics) {
      deps_.metrics->RecordJournalWrite(absl::Now() - write_started);
    }
    if (!journaled.ok()) {
      // The intent stays PENDING: the reconciler settles it from Binance.
      LogLine("error", "journal_outcome_failed")
          .Str("request_id", call->request_id)
          .Str("error", journaled.status().ToString())
          .Emit();
    } else if (!journaled->reopened_request_id.empty()) {
      // Reconciliation had given this borrow's transaction to another
      // record: Binance's answer wins and that record is open again.
      LogLine("error", "reconcile_attribution_reversed")
          .Str("request_id", call->request_id)
          .Str("transaction_id", transaction_id)
          .Str("reopened_request_id", journaled->reopened_request_id)
          .Emit();
      if (deps_.metrics) deps_.metrics->RecordReopened();
    }
    // The outcome is durable: the risk unit may take its next borrow.
    if (call->holds_group) queue_.Done(call->borrow->group_id);
    Finish(call, std::move(result));
  });
}

void BorrowPipeline::Finish(const std::shared_ptr<Call>& call,
                            absl::StatusOr<BorrowResponse> result) {
  if (result.ok()) {
    result->set_request_id(call->request_id);
    call->outcome = binance::OutcomeClass::kSucceeded;
    call->reason = "SUCCEEDED";
  } else {
    absl::Status status = result.status();
    errors::AddErrorMetadata(status, {{"request_id", call->request_id}});
    call->reason = ReasonOf(status);
    result = status;
  }
  LogLine line("info", "borrow");
  line.Str("request_id", call->request_id).Str("caller", call->caller);
  if (call->borrow) {
    line.Int("group_id", call->borrow->group_id)
        .Str("asset", call->borrow->asset_name)
        .Str("amount", call->borrow->amount.text());
  }
  const std::string outcome(binance::OutcomeClassName(call->outcome));
  line.Str("outcome", outcome)
      .Str("reason", call->reason)
      .Str("grpc_code", absl::StatusCodeToString(result.status().code()))
      .Int("attempts", call->attempts);
  if (call->replayed) line.Str("replayed", "true");
  if (result.ok()) line.Str("transaction_id", result->transaction_id());
  if (call->binance_code) line.Int("binance_code", *call->binance_code);
  if (call->http_status != 0) line.Int("http_status", call->http_status);
  if (!call->transport_error.empty())
    line.Str("transport_error", call->transport_error);
  const absl::Duration total = deps_.clock->Now() - call->started;
  line.Ms("upstream_ms", call->upstream_latency).Ms("total_ms", total).Emit();
  if (deps_.metrics) {
    if (call->replayed) {
      deps_.metrics->RecordReplay(outcome);
    } else {
      deps_.metrics->RecordCall(outcome, call->reason, total);
      if (result.ok() && call->borrow) {
        deps_.metrics->RecordBorrowed(call->borrow->asset_name,
                                      call->borrow->amount.text());
      }
    }
  }
  std::vector<std::shared_ptr<Call>> waiters;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(call->request_id);
    if (it != in_flight_.end() && it->second == call) in_flight_.erase(it);
    waiters.swap(call->waiters);
  }
  call->done(result);
  for (const std::shared_ptr<Call>& waiter : waiters) {
    waiter->outcome = call->outcome;
    waiter->replayed = true;  // A repeat that waited for the first call.
    Finish(waiter, result);
  }
  absl::MutexLock lock(&mu_);
  --started_;
}

}  // namespace loan_gateway
