#include "service/operation_pipeline.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/request_id.h"
#include "binance/borrow_outcome.h"
#include "binance/execution_window.h"
#include "binance/money_operation.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "executor/durable_join.h"
#include "identity/same_caller.h"
#include "log/json_log.h"
#include "proto_time/proto_time.h"
#include "service/call_audit.h"
#include "service/resend_policy.h"
#include "validate/amount_units.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

namespace {

std::string ReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return errors::GetDetail(status, &info) ? info.reason() : "";
}

std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  google::rpc::RetryInfo retry;
  if (!errors::GetDetail(status, &retry)) return std::nullopt;
  return FromProtoDuration(retry.retry_delay());
}

BorrowResponse ResponseFor(
    const ValidBorrow& borrow, std::string transaction_id, std::string amount,
    institutional_loan::v1::BorrowStatus status =
        institutional_loan::v1::BORROW_STATUS_SUCCEEDED) {
  BorrowResponse response;
  response.set_transaction_id(std::move(transaction_id));
  response.set_amount(std::move(amount));
  response.set_status(status);
  response.set_group_id(borrow.group_id);
  response.set_asset(borrow.asset);
  return response;
}

absl::Status AuditUnavailable(absl::string_view cause) {
  return contract::RuleError(
      contract::RuleForLocal(contract::kAuditUnavailableEvent),
      absl::StrCat("the audit log cannot be written, so nothing was signed or "
                   "sent: ",
                   cause));
}

absl::Status JournalUnavailable(const absl::Status& cause) {
  return contract::RuleError(
      contract::RuleForLocal(contract::kJournalUnavailableEvent),
      absl::StrCat("the journal cannot be written, so nothing was signed or "
                   "sent: ",
                   cause.message()));
}

// The journal's record of a call that ended with `status`: UNKNOWN when it
// may have executed, else REJECTED, retryable when nothing was sent and the
// refusal says when to try again.
OutcomeToRecord FailureToRecord(const OperationCall& call,
                                const absl::Status& status) {
  OutcomeToRecord record;
  record.state = call.outcome == Outcome::kUnknown ? Outcome::kUnknown
                                                   : Outcome::kRejected;
  record.retryable =
      record.state == Outcome::kRejected && RetryDelayOf(status).has_value();
  record.error = errors::ToRpcStatus(status).SerializeAsString();
  return record;
}

// What `call` asks the journal to hold: its intent, as of `created`.
JournalRecord IntentOf(const OperationCall& call, absl::Time created) {
  JournalRecord intent;
  intent.kind = call.kind;
  intent.request_id = call.request_id;
  intent.caller = call.caller;
  intent.group_id = call.borrow->group_id;
  intent.asset = call.borrow->asset_name;
  intent.amount = call.borrow->amount.text();
  intent.created = created;
  return intent;
}

}  // namespace

OperationPipeline::OperationPipeline(const config::v1::UpstreamConfig& upstream,
                                     const config::v1::BorrowConfig& borrow,
                                     OperationPipelineDeps deps)
    : upstream_(upstream),
      borrow_(borrow),
      deps_(deps),
      admission_(
          {.recv_window_ms = upstream_.recv_window_ms(),
           .max_clock_uncertainty =
               FromProtoDuration(borrow_.max_clock_uncertainty()),
           .min_call_deadline = FromProtoDuration(borrow_.min_call_deadline())},
          *deps_.clock, *deps_.binance_clock, *deps_.breaker, *deps_.budget,
          deps_.halt),
      queue_(static_cast<size_t>(borrow_.risk_unit_queue_limit())) {}

bool OperationPipeline::WorkingOn(const std::string& request_id) const {
  return intents_.Claimed(request_id);
}

int OperationPipeline::unanswered_calls() const {
  absl::MutexLock lock(&mu_);
  return unanswered_;
}

absl::Status OperationPipeline::CheckClock() const {
  return admission_.CheckClock();
}

void OperationPipeline::Move(OperationCall& call, OperationStage next) {
  const OperationStage from = call.stage();
  if (call.Advance(next)) return;
  LogLine("error", "borrow_stage_illegal")
      .Str("request_id", call.request_id)
      .Str("from", OperationStageName(from))
      .Str("to", OperationStageName(next))
      .Emit();
}

void OperationPipeline::Borrow(const BorrowRequest& request, std::string caller,
                               absl::Time deadline, Done done,
                               std::function<bool()> caller_gone,
                               std::shared_ptr<const CallerRule> rule) {
  Start(OperationKind::kBorrow, request, std::move(caller), deadline,
        std::move(done), std::move(caller_gone), std::move(rule));
}

void OperationPipeline::Repay(const BorrowRequest& request, std::string caller,
                              absl::Time deadline, Done done,
                              std::function<bool()> caller_gone,
                              std::shared_ptr<const CallerRule> rule) {
  Start(OperationKind::kRepay, request, std::move(caller), deadline,
        std::move(done), std::move(caller_gone), std::move(rule));
}

// [gRPC thread] Validate and admit; nothing is journaled for a refusal here.
void OperationPipeline::Start(OperationKind kind, const BorrowRequest& request,
                              std::string caller, absl::Time deadline,
                              Done done, std::function<bool()> caller_gone,
                              std::shared_ptr<const CallerRule> rule) {
  auto call = std::make_shared<OperationCall>();
  call->kind = kind;
  call->caller = std::move(caller);
  call->rule = std::move(rule);
  call->done = std::move(done);
  call->caller_gone = std::move(caller_gone);
  call->validate_only = request.validate_only();
  call->admitted = true;  // LoanService asked the policy first.
  call->started = deps_.clock->Now();
  call->deadline = deadline;
  call->request_id = IsUuid(request.request_id())
                         ? CanonicalRequestId(request.request_id())
                         : api::NewRequestId();
  {
    absl::MutexLock lock(&mu_);
    ++unanswered_;
  }
  absl::StatusOr<ValidBorrow> borrow = ValidateBorrowRequest(request);
  if (!borrow.ok()) {
    // An invalid caller-given id is echoed as given, so the caller can match
    // it.
    if (!request.request_id().empty()) {
      call->request_id = std::string(Utf8Prefix(request.request_id(), 128));
    }
    Answer(call, borrow.status());
    return;
  }
  call->borrow = *std::move(borrow);
  if (call->rule != nullptr) {
    // Amount limits are for what adds to the debt; a repay's scope only.
    if (absl::Status allowed =
            binance::MoneyOperationOf(kind).adds_liability
                ? AccessPolicy::CheckBorrow(*call->rule, call->borrow->group_id,
                                            call->borrow->asset_name,
                                            call->borrow->amount.text())
                : AccessPolicy::CheckScope(*call->rule, call->borrow->group_id,
                                           call->borrow->asset_name);
        !allowed.ok()) {
      Answer(call, allowed);
      return;
    }
  }
  if (absl::Status admitted = admission_.BeforeJournal(call->deadline);
      !admitted.ok()) {
    Answer(call, admitted);
    return;
  }
  if (deps_.audit != nullptr && !deps_.audit->writable()) {
    Answer(call, AuditUnavailable("an earlier write failed"));
    return;
  }
  if (absl::Status room = PreFlight(*call); !room.ok()) {
    Answer(call, room);
    return;
  }
  Move(*call, OperationStage::kAdmitted);
  if (call->validate_only) {
    deps_.journal_executor->Post([this, call] { DryRun(call); });
    return;
  }
  deps_.journal_executor->Post([this, call] { JournalIntent(call); });
}

// [journal] What a real call would meet from here up to signing, with
// nothing written: the caps, a journaled request_id (its stored answer, or
// its conflict), the last checks and the weight (not taken).
void OperationPipeline::DryRun(const CallPtr& call) {
  std::optional<JournalRecord> answer_from;
  if (absl::Status within = CheckCaps(*call, &answer_from); !within.ok()) {
    Answer(call, within);
    return;
  }
  absl::StatusOr<std::optional<JournalRecord>> existing =
      deps_.journal->Get(call->request_id);
  if (!existing.ok()) {
    Answer(call, JournalUnavailable(existing.status()));
    return;
  }
  if (existing->has_value()) {
    AnswerFromJournal(call, **existing);
    return;
  }
  absl::Status ready = admission_.BeforeSend(call->deadline, call->caller_gone);
  if (ready.ok()) ready = admission_.CheckWeight();
  if (!ready.ok()) {
    Answer(call, ready);
    return;
  }
  Answer(call, ResponseFor(*call->borrow, "", call->borrow->amount.text(),
                           institutional_loan::v1::BORROW_STATUS_VALIDATED));
}

// A borrow Binance would refuse with -27009 by what it said moments ago is
// refused here, saving the credit account 3000 weight. Only a fresh figure
// refuses; none, or an old one, lets Binance decide.
absl::Status OperationPipeline::PreFlight(const OperationCall& call) const {
  const absl::Duration max_age = FromProtoDuration(borrow_.preflight_max_age());
  if (!binance::MoneyOperationOf(call.kind).adds_liability ||
      deps_.limits == nullptr || max_age <= absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const ValidBorrow& borrow = *call.borrow;
  const absl::Time now = deps_.clock->Now();
  std::optional<BorrowLimitCache::Limit> limit =
      deps_.limits->Fresh(borrow.group_id, borrow.asset_name, now, max_age);
  if (!limit) return absl::OkStatus();
  absl::StatusOr<AmountUnits> max = UpstreamAmountUnitsFloor(limit->max_amount);
  absl::StatusOr<AmountUnits> asked = ToAmountUnits(borrow.amount.text());
  if (!max.ok() || !asked.ok() || *asked <= *max) return absl::OkStatus();
  const std::string subject =
      absl::StrCat("risk_unit/", borrow.group_id, "/", borrow.asset_name);
  return contract::ErrorForRule(
      *contract::RuleForBinanceCode(-27009),
      absl::StrCat("predicted from Binance's maximum borrowable of ",
                   limit->max_amount, " ", borrow.asset_name, " read ",
                   absl::FormatDuration(now - limit->read_at),
                   " ago: the borrow of ", borrow.amount.text(),
                   " would exceed it; nothing was sent"),
      {{"max_amount", limit->max_amount},
       {"predicted", "true"},
       {"group_id", absl::StrCat(borrow.group_id)},
       {"asset", borrow.asset_name},
       {"amount", borrow.amount.text()}},
      std::nullopt, subject,
      absl::StrCat("requested ", borrow.amount.text(), " ", borrow.asset_name,
                   " exceeds the maximum borrowable ", limit->max_amount, " ",
                   borrow.asset_name, " (predicted)"));
}

void OperationPipeline::Refuse(absl::Status status, std::string caller,
                               Done done) {
  auto call = std::make_shared<OperationCall>();
  call->caller = std::move(caller);
  call->done = std::move(done);
  call->started = deps_.clock->Now();
  call->request_id = api::NewRequestId();  // None could be read.
  {
    absl::MutexLock lock(&mu_);
    ++unanswered_;
  }
  Answer(call, std::move(status));
}

// [journal] The intent is durable before anything is signed.
// [journal] The caller's rolling caps, from the journal: every intent is
// journaled on this one thread right after its check, so two calls cannot
// both pass on the same room, and a restart reads what counted before it.
// A repeat of a journaled request_id is not a new borrow: it is let through
// to its journaled answer (`*answer_from`), unless it will be attempted
// again (JournalRecord::AttemptedAgainBy), which is counted.
absl::Status OperationPipeline::CheckCaps(
    const OperationCall& call, std::optional<JournalRecord>* answer_from) {
  // Caps limit what a caller borrows; a repay only lowers what is owed.
  if (call.rule == nullptr ||
      !binance::MoneyOperationOf(call.kind).adds_liability) {
    return absl::OkStatus();
  }
  const std::string& asset = call.borrow->asset_name;
  const absl::Duration window = call.rule->LongestWindow(asset);
  if (window <= absl::ZeroDuration()) return absl::OkStatus();
  // Gateways sharing the journal check one (caller, asset) one at a time,
  // each up to its intent's commit.
  if (absl::Status locked = deps_.journal->LockCallerCaps(call.caller, asset);
      !locked.ok()) {
    return JournalUnavailable(locked);
  }
  absl::StatusOr<std::optional<JournalRecord>> existing =
      deps_.journal->Get(call.request_id);
  if (!existing.ok()) return JournalUnavailable(existing.status());
  const absl::Time now = deps_.clock->Now();
  // A repeat is answered from the journal, unless it is attempted again: a
  // new borrow, counted like any other (the rejection it repeats is not).
  if (existing->has_value() &&
      !(*existing)->AttemptedAgainBy(IntentOf(call, now))) {
    *answer_from = **existing;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<CallerBorrow>> borrows =
      deps_.journal->CallerBorrowsSince(call.caller, asset, now - window);
  if (!borrows.ok()) return JournalUnavailable(borrows.status());
  std::vector<CountedBorrow> counted;
  for (const CallerBorrow& b : *borrows) {
    absl::StatusOr<AmountUnits> units = ToAmountUnits(b.amount);
    if (!units.ok()) return JournalUnavailable(units.status());
    counted.push_back({b.created, *units});
  }
  return AccessPolicy::CheckCaps(*call.rule, asset, call.borrow->amount.text(),
                                 counted, now);
}

void OperationPipeline::JournalIntent(const CallPtr& call) {
  // Another call of this process works on the request_id: this one follows
  // it, or the answer it journaled, and writes nothing (its intent would
  // reopen a rejection settled a moment ago, with nothing left to send it).
  if (!intents_.Claim(call)) {
    FollowClaimed(call);
    return;
  }
  std::optional<JournalRecord> answer_from;
  if (absl::Status within = CheckCaps(*call, &answer_from); !within.ok()) {
    intents_.Unclaim(*call);
    Answer(call, within);
    return;
  }
  // A repeat the caps did not count is answered from the record they read:
  // an intent written now could reopen it (another gateway may have settled
  // it since) into a borrow nobody counted.
  absl::StatusOr<std::optional<JournalRecord>> existing = answer_from;
  if (!answer_from.has_value()) {
    existing = deps_.journal->InsertIntent(IntentOf(*call, deps_.clock->Now()));
  }
  if (!existing.ok()) {
    intents_.Unclaim(*call);
    Answer(call, JournalUnavailable(existing.status()));
    return;
  }
  if (existing->has_value()) {
    intents_.Unclaim(*call);
    AnswerFromJournal(call, **existing);
    return;
  }
  Move(*call, OperationStage::kQueued);
  absl::Status queued = queue_.Enqueue(
      call->borrow->group_id,
      [this, call] {
        call->holds_turn = true;
        PrepareAttempt(call);
      },
      [this, call] { Settle(call, Admission::DrainingError()); });
  if (!queued.ok()) Settle(call, queued);
}

// [journal] A call whose request_id another call of this process works on.
void OperationPipeline::FollowClaimed(const CallPtr& call) {
  absl::StatusOr<std::optional<JournalRecord>> record =
      deps_.journal->Get(call->request_id);
  if (!record.ok()) {
    Answer(call, JournalUnavailable(record.status()));
    return;
  }
  // The claimant journals its intent in the task that claims it, so the
  // record is there; without it, the call follows its claimant (if that is
  // the same caller: IntentGate::Follow).
  AnswerFromJournal(call, record->has_value()
                              ? **record
                              : IntentOf(*call, deps_.clock->Now()));
}

// [journal] A repeat of a journaled request_id: never a second borrow.
void OperationPipeline::AnswerFromJournal(const CallPtr& call,
                                          const JournalRecord& record) {
  call->replayed = true;
  if (!SameCaller(record.caller, call->caller)) {
    // Another caller's borrow: nothing of it is told (GetBorrow answers
    // NOT_FOUND for it), and it is never followed, answered or retried.
    Answer(call, contract::RuleError(
                     contract::RuleForLocal(contract::kRequestIdConflictEvent),
                     absl::StrCat(
                         "request_id ", record.request_id,
                         " belongs to another caller's operation; nothing was "
                         "sent. A caller's request_ids are its own: if that "
                         "operation is yours, your certificate names another "
                         "identity than when it was made")));
    return;
  }
  if (!record.SameIntent(IntentOf(*call, record.created))) {
    Answer(call,
           contract::RuleError(
               contract::RuleForLocal(contract::kRequestIdConflictEvent),
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
    case Outcome::kSucceeded:
      call->outcome = Outcome::kSucceeded;
      Answer(call,
             ResponseFor(*call->borrow, record.transaction_id,
                         record.result_amount.empty() ? record.amount
                                                      : record.result_amount));
      return;
    case Outcome::kRejected:
    case Outcome::kUnknown: {
      google::rpc::Status rpc;
      rpc.ParseFromString(record.error);
      call->outcome = record.state == Outcome::kRejected ? Outcome::kRejected
                                                         : Outcome::kUnknown;
      Answer(call, rpc.code() != 0
                       ? errors::FromRpcStatus(rpc)
                       : errors::MakeError(absl::StatusCode::kUnknown,
                                           "stored outcome unreadable",
                                           "BORROW_OUTCOME_UNKNOWN"));
      return;
    }
    case Outcome::kPending:
      break;
  }
  Move(*call, OperationStage::kFollowing);
  if (intents_.Follow(record.request_id, call)) return;  // Answered with it.
  if (record.in_flight_elsewhere) {
    FollowElsewhere(call);
    return;
  }
  AnswerNotKnownYet(
      call,
      "this request_id's borrow was interrupted and its outcome is not "
      "settled yet; reconciliation is reading Binance's records. Do not "
      "resend it");
}

// A repeat whose borrow's outcome nobody knows yet: UNKNOWN, never a
// failure (it may have executed).
void OperationPipeline::AnswerNotKnownYet(const CallPtr& call,
                                          absl::string_view why) {
  call->outcome = Outcome::kUnknown;
  Answer(call, contract::RuleError(
                   contract::RuleForTransport(contract::kMaybeSentEvent), why));
}

// [journal] A repeat of a request_id another gateway sharing the journal
// works on: reads its record until that call's outcome is journaled, as a
// repeat here follows the call in flight. Never a second borrow.
void OperationPipeline::FollowElsewhere(const CallPtr& call) {
  const absl::Duration poll = absl::Milliseconds(50);
  if (!DeadlineAllows(*call, poll)) {
    AnswerNotKnownYet(
        call,
        "this request_id's borrow is in flight at another gateway sharing "
        "the journal and was not settled before this call's deadline; its "
        "outcome is not known yet. Repeat the call with the same request_id "
        "to read it (it is never borrowed twice)");
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    followers_elsewhere_.insert(call);
  }
  deps_.scheduler->RunAfter(poll, [this, call] {
    {
      absl::MutexLock lock(&mu_);
      if (followers_elsewhere_.erase(call) == 0) return;  // Answered: drain.
    }
    deps_.journal_executor->Post([this, call] {
      absl::StatusOr<std::optional<JournalRecord>> record =
          deps_.journal->Get(call->request_id);
      if (!record.ok() || !record->has_value()) {
        AnswerNotKnownYet(
            call,
            "this request_id's borrow is in flight at another gateway and "
            "its record could not be read again; repeat the call with the "
            "same request_id to read its outcome");
        return;
      }
      AnswerFromJournal(call, **record);
    });
  });
}

// [journal] The call holds its risk unit's turn (until its outcome is
// journaled): checks once more, waits out an earlier attempt's window if
// needed, takes the weight, and journals the attempt's timestamp before it
// is signed with it and sent.
void OperationPipeline::PrepareAttempt(const CallPtr& call) {
  Move(*call, OperationStage::kPreparing);
  if (absl::Status ready =
          admission_.BeforeSend(call->deadline, call->caller_gone);
      !ready.ok()) {
    Settle(call, ready);
    return;
  }
  absl::StatusOr<int64_t> now_ms = deps_.binance_clock->NowMs();
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
  absl::Status journaled = deps_.journal->BeginAttempt(
      {.kind = call->kind,
       .request_id = call->request_id,
       .group_id = call->borrow->group_id,
       .asset = call->borrow->asset_name,
       .amount = call->borrow->amount.text(),
       .signed_ms = *now_ms,
       .recv_window_ms = upstream_.recv_window_ms(),
       .others_end_by_ms =
           *now_ms - binance::kTimestampLeadMs - binance::kRecordLagMs});
  if (!journaled.ok()) {
    admission_.ReleaseWeight();
    if (IsRiskUnitBusyElsewhere(journaled)) {
      WaitForTurnElsewhere(call, journaled);
      return;
    }
    Settle(call, JournalUnavailable(journaled));
    return;
  }
  Move(*call, OperationStage::kSending);
  AuditAttempt(call, *now_ms);
}

// Nothing is signed before the intent and this attempt are durable (when
// their group commits: one fsync for every write ready with them) and the
// request's audit record is too (no record, no signature: fail closed, like
// Vault's audit devices). The two go to disk side by side.
void OperationPipeline::AuditAttempt(const CallPtr& call, int64_t signed_ms) {
  auto durable =
      DurableJoin::Of(deps_.audit == nullptr ? 1 : 2,
                      [this, call, signed_ms](const absl::Status& written) {
                        if (!written.ok()) {
                          admission_.ReleaseWeight();
                          Settle(call, written);
                          return;
                        }
                        deps_.call_executor->Post(
                            [this, call, signed_ms] { Send(call, signed_ms); });
                      });
  if (deps_.audit != nullptr) {
    deps_.audit->Append(
        RequestSignedRecord(*call, signed_ms),
        [durable](const absl::Status& written) {
          durable->Done(written.ok() ? absl::OkStatus()
                                     : AuditUnavailable(written.message()));
        });
  }
  deps_.journal_executor->AfterCommit([durable](const absl::Status& committed) {
    durable->Done(committed.ok() ? absl::OkStatus()
                                 : JournalUnavailable(committed));
  });
}

// How long until a request of this risk unit signed now could not share
// Binance's execution window with an earlier attempt whose outcome is open
// (unknown, or crashed in flight): a record then belongs to one attempt.
absl::StatusOr<absl::Duration> OperationPipeline::WindowWait(
    const OperationCall& call, int64_t now_ms) const {
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

// Whether the call still has --min_call_deadline left after waiting `wait`.
bool OperationPipeline::DeadlineAllows(const OperationCall& call,
                                       absl::Duration wait) const {
  return call.deadline - deps_.clock->Now() - wait >=
         FromProtoDuration(borrow_.min_call_deadline());
}

// [journal] RISK_UNIT_BUSY: the risk unit `why`, and the call's deadline
// ends first. Nothing was sent; RetryInfo says when to try again.
void OperationPipeline::RefuseRiskUnitBusy(const CallPtr& call,
                                           absl::string_view why,
                                           absl::Duration retry_after) {
  absl::Status busy = contract::RuleError(
      contract::RuleForLocal(contract::kRiskUnitBusyEvent),
      absl::StrCat("risk unit ", call->borrow->group_id, " ", why,
                   ", and the call's deadline ends first. Nothing was sent"),
      {{"group_id", absl::StrCat(call->borrow->group_id)}});
  errors::AttachRetryInfo(busy, retry_after);
  Settle(call, busy);
}

// [journal] Holds the turn while the window passes, or refuses when the
// caller's deadline ends first.
void OperationPipeline::WaitForWindow(const CallPtr& call,
                                      absl::Duration wait) {
  if (!DeadlineAllows(*call, wait)) {
    RefuseRiskUnitBusy(
        call,
        absl::StrCat("has an earlier borrow whose outcome is unknown and "
                     "which Binance could still execute for ",
                     absl::FormatDuration(wait),
                     "; a borrow sent now could not be told apart from it"),
        wait);
    return;
  }
  LogLine("info", "risk_unit_window_wait")
      .Str("request_id", call->request_id)
      .Int("group_id", call->borrow->group_id)
      .Ms("wait_ms", wait)
      .Emit();
  HoldTurnFor(call, wait);
}

// [journal] Another gateway sharing the journal has this risk unit's
// operation at Binance: the call keeps this process's turn and tries again
// shortly, or refuses when its deadline would end first (nothing sent).
void OperationPipeline::WaitForTurnElsewhere(const CallPtr& call,
                                             const absl::Status& busy) {
  const absl::Duration poll = absl::Milliseconds(25);
  if (!DeadlineAllows(*call, poll)) {
    RefuseRiskUnitBusy(call,
                       "has an operation at Binance through another gateway "
                       "sharing the journal, whose outcome is not journaled "
                       "yet",
                       absl::Seconds(1));
    return;
  }
  if (!call->waited_elsewhere) {
    call->waited_elsewhere = true;
    LogLine("info", "risk_unit_busy_elsewhere")
        .Str("request_id", call->request_id)
        .Int("group_id", call->borrow->group_id)
        .Str("holder", busy.message())
        .Emit();
  }
  HoldTurnFor(call, poll);
}

// [journal] Holds this process's turn of the risk unit for `wait`, then
// prepares the attempt again (a drain refuses it meanwhile).
void OperationPipeline::HoldTurnFor(const CallPtr& call, absl::Duration wait) {
  Move(*call, OperationStage::kWaitingWindow);
  {
    absl::MutexLock lock(&mu_);
    window_waiters_.insert(call);
  }
  deps_.scheduler->RunAfter(wait, [this, call] {
    {
      absl::MutexLock lock(&mu_);
      if (window_waiters_.erase(call) == 0) return;  // Refused by a drain.
    }
    deps_.journal_executor->Post([this, call] { PrepareAttempt(call); });
  });
}

// [call executor] Signs with the journaled timestamp and sends.
void OperationPipeline::Send(const CallPtr& call, int64_t signed_ms) {
  absl::StatusOr<HttpRequest> request = binance::BuildBorrowRequest(
      *call->borrow,
      upstream_.base_urls(static_cast<int>(call->base_url_index)), signed_ms,
      upstream_.recv_window_ms(), deps_.credentials,
      binance::MoneyOperationOf(call->kind).path);
  if (!request.ok()) {
    admission_.ReleaseWeight();
    Settle(call,
           contract::RuleError(
               contract::RuleForLocal(contract::kSigningFailedEvent),
               "the gateway could not sign the request; nothing was sent"));
    return;
  }
  request->timeout = FromProtoDuration(upstream_.timeout());
  auto send = [&] {
    ++call->attempts;
    ++requests_in_flight_;
    const absl::Time sent_at = deps_.clock->Now();
    deps_.transport->Send(
        *std::move(request), [this, call, sent_at](const HttpResult& result) {
          --requests_in_flight_;
          const absl::Duration latency = deps_.clock->Now() - sent_at;
          call->upstream_latency += latency;
          OnResult(call, result, latency);
        });
  };
  if (deps_.halt == nullptr) {
    send();
    return;
  }
  // The kill switch's last word: once a halt has returned, nothing passes.
  if (absl::Status sent = deps_.halt->RunUnlessHalted(send); !sent.ok()) {
    admission_.ReleaseWeight();
    Settle(call, sent);
  }
}

void OperationPipeline::BeginDrain() {
  std::vector<CallPtr> waiting;
  std::vector<CallPtr> following;
  {
    absl::MutexLock lock(&mu_);
    admission_.BeginDrain();
    waiting.assign(window_waiters_.begin(), window_waiters_.end());
    window_waiters_.clear();
    following.assign(followers_elsewhere_.begin(), followers_elsewhere_.end());
    followers_elsewhere_.clear();
  }
  queue_.RefuseWaiting();
  for (const CallPtr& call : waiting) {
    Settle(call, Admission::DrainingError());
  }
  // A repeat following another gateway's call: its outcome is that call's
  // to give, not ours to refuse (it may execute).
  for (const CallPtr& call : following) {
    deps_.journal_executor->Post([this, call] {
      AnswerNotKnownYet(call,
                        "this gateway is shutting down while this "
                        "request_id's borrow is in flight at another gateway "
                        "sharing the journal; repeat the call with the same "
                        "request_id to read its outcome");
    });
  }
}

// [HTTP thread] What Binance's answer means, and what comes next: the
// resend policy decides; everything else settles the call.
void OperationPipeline::OnResult(const CallPtr& call, const HttpResult& result,
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
  const ResendDecision decision = DecideResend(
      {.delivery = result.delivery,
       .outcome = outcome.outcome,
       .binance_code = outcome.binance_code},
      {.base_url_index = call->base_url_index,
       .base_url_count = static_cast<size_t>(upstream_.base_urls_size()),
       .resigned = call->resigned});
  if (result.delivery == Delivery::kNotSent) admission_.ReleaseWeight();
  if (result.queue_full) {
    // The next base URL would wait in the same queue: refused at once.
    Settle(call, contract::RuleError(
                     contract::RuleForLocal(contract::kUpstreamQueueFullEvent),
                     absl::StrCat("the gateway's queue for a connection to "
                                  "Binance is full (",
                                  result.error, "); nothing was sent")));
    return;
  }
  if (decision == ResendDecision::kNextBaseUrl) {
    // Provably never left this process: safe to try the next base URL once.
    LogLine("warn", "upstream_unreachable")
        .Str("request_id", call->request_id)
        .Str("base_url",
             upstream_.base_urls(static_cast<int>(call->base_url_index)))
        .Str("error", result.error)
        .Emit();
    ++call->base_url_index;
    PrepareAgain(call);
    return;
  }
  if (outcome.binance_code == -27009 && deps_.limits != nullptr) {
    // Binance's -27009 states the limit: a repeat within the pre-flight's
    // age is refused without spending weight.
    google::rpc::ErrorInfo info;
    if (errors::GetDetail(outcome.error, &info) &&
        info.metadata().contains("max_amount")) {
      deps_.limits->Put(call->borrow->group_id, call->borrow->asset_name,
                        info.metadata().at("max_amount"), deps_.clock->Now());
    }
  }
  call->outcome = outcome.outcome;
  call->binance_code = outcome.binance_code;
  call->http_status = outcome.http_status;
  call->transport_error = result.error;
  if (outcome.outcome == Outcome::kSucceeded) {
    // A repay raised what the unit may borrow: a figure read before is low.
    if (!binance::MoneyOperationOf(call->kind).adds_liability &&
        deps_.limits != nullptr) {
      deps_.limits->Forget(call->borrow->group_id);
    }
    Settle(call, ResponseFor(*call->borrow, outcome.receipt->transaction_id,
                             outcome.receipt->amount.value_or(
                                 call->borrow->amount.text())));
    return;
  }
  if (outcome.http_status == 429 || outcome.http_status == 418 ||
      outcome.http_status == 403 || outcome.binance_code == -1003) {
    deps_.breaker->Trip(
        *outcome.rule, outcome.error,
        RetryDelayOf(outcome.error).value_or(absl::Seconds(60)));
  }
  if (decision == ResendDecision::kResyncAndResign) {
    ResyncAndPrepareAgain(call, outcome.error);
    return;
  }
  Settle(call, outcome.error);
}

void OperationPipeline::PrepareAgain(const CallPtr& call) {
  deps_.journal_executor->Post([this, call] { PrepareAttempt(call); });
}

// -1021 means Binance refused the timestamp without executing anything: the
// one case where sending again is safe. Resync the clock, then re-sign once.
void OperationPipeline::ResyncAndPrepareAgain(const CallPtr& call,
                                              absl::Status rejection) {
  call->resigned = true;
  LogLine("warn", "clock_skew_resync")
      .Str("request_id", call->request_id)
      .Emit();
  deps_.binance_clock->SyncAsync(absl::Seconds(5),
                                 [this, call, rejection = std::move(rejection)](
                                     const absl::Status& synced) {
                                   if (!synced.ok()) {
                                     Settle(call, rejection);
                                     return;
                                   }
                                   PrepareAgain(call);
                                 });
}

// Journals the outcome (on the journal's executor), hands the risk unit to
// its next borrow, then answers.
void OperationPipeline::Settle(const CallPtr& call, Result result) {
  Move(*call, OperationStage::kSettling);
  if (!result.ok()) {
    absl::Status status = result.status();
    errors::AddErrorMetadata(status, {{"request_id", call->request_id}});
    result = status;
  }
  deps_.journal_executor->Post([this, call,
                                result = std::move(result)]() mutable {
    JournalOutcome(*call, result);
    // The risk unit may take its next operation: its writes follow this
    // outcome in the journal, and its request is signed only after
    // they (and so this outcome) are durable.
    if (call->holds_turn) queue_.Done(call->borrow->group_id);
    deps_.journal_executor->AfterCommit([call](const absl::Status& durable) {
      if (!durable.ok()) LogOutcomeNotJournaled(*call, durable);
    });
    Answer(call, std::move(result));  // Once the outcome is durable.
  });
}

// [journal] A failed write leaves the intent PENDING: the reconciler then
// settles it from Binance's records, and the caller still gets its answer.
void OperationPipeline::JournalOutcome(const OperationCall& call,
                                       const Result& result) {
  const OutcomeToRecord outcome =
      result.ok() ? OutcomeToRecord{.state = Outcome::kSucceeded,
                                    .transaction_id = result->transaction_id(),
                                    .result_amount = result->amount()}
                  : FailureToRecord(call, result.status());
  absl::StatusOr<OutcomeWritten> journaled =
      deps_.journal->RecordOutcome(call.request_id, outcome);
  if (!journaled.ok()) {
    LogOutcomeNotJournaled(call, journaled.status());
    return;
  }
  if (!journaled->reopened_request_id.empty()) {
    // Reconciliation had given this borrow's transaction to another
    // record: Binance's answer wins and that record is open again.
    LogLine("error", "reconcile_attribution_reversed")
        .Str("request_id", call.request_id)
        .Str("transaction_id", outcome.transaction_id)
        .Str("reopened_request_id", journaled->reopened_request_id)
        .Emit();
    if (deps_.metrics) deps_.metrics->RecordReopened();
  }
}

void OperationPipeline::LogOutcomeNotJournaled(const OperationCall& call,
                                               const absl::Status& error) {
  LogLine("error", "journal_outcome_failed")
      .Str("request_id", call.request_id)
      .Str("error", error.ToString())
      .Emit();
}

// Nothing reaches a caller before the journal's group that read or wrote
// its answer is durable, nor before the answer's audit record is: the two
// go to disk side by side. A failed write still answers (the outcome is a
// fact the caller must have); the audit log then refuses every later
// signature.
void OperationPipeline::Answer(const CallPtr& call, Result result) {
  Move(*call, OperationStage::kAnswered);
  auto answered = std::make_shared<Result>(std::move(result));
  auto durable =
      DurableJoin::Of(deps_.audit == nullptr ? 1 : 2,
                      [this, call, answered](const absl::Status&) {
                        deps_.call_executor->Post([this, call, answered] {
                          Reply(call, std::move(*answered));
                        });
                      });
  if (deps_.audit != nullptr) {
    deps_.audit->Append(
        BorrowAnsweredRecord(*call, *answered),
        [durable](const absl::Status& written) { durable->Done(written); });
  }
  deps_.journal_executor->AfterCommit(
      [durable](const absl::Status& committed) { durable->Done(committed); });
}

// [call executor] The caller's answer, its log line and metrics; repeats
// that followed this call get the same answer.
void OperationPipeline::Reply(const CallPtr& call, Result result) {
  std::string reason;
  const bool validated =
      result.ok() &&
      result->status() == institutional_loan::v1::BORROW_STATUS_VALIDATED;
  if (result.ok()) {
    result->set_request_id(call->request_id);
    call->outcome = Outcome::kSucceeded;
    reason = validated ? "VALIDATED" : "SUCCEEDED";
  } else {
    absl::Status status = result.status();
    errors::AddErrorMetadata(status, {{"request_id", call->request_id}});
    reason = ReasonOf(status);
    result = status;
  }
  const absl::Duration total = deps_.clock->Now() - call->started;
  EmitOperationLogLine(*call, result, reason, total);
  if (deps_.metrics) {
    const std::string outcome(OutcomeName(call->outcome));
    deps_.metrics->RecordCallerCall(!call->admitted ? "not_admitted"
                                    : call->rule != nullptr
                                        ? call->rule->identity
                                        : "insecure_sandbox",
                                    validated ? "VALIDATED" : outcome);
    if (call->replayed) {
      deps_.metrics->RecordReplay(outcome);
    } else if (call->validate_only) {
      deps_.metrics->RecordCall(validated ? "VALIDATED" : outcome, reason,
                                total);
    } else {
      deps_.metrics->RecordCall(outcome, reason, total);
      if (result.ok() && call->borrow &&
          binance::MoneyOperationOf(call->kind).adds_liability) {
        deps_.metrics->RecordBorrowed(call->borrow->asset_name,
                                      call->borrow->amount.text());
      }
    }
  }
  std::vector<CallPtr> followers = intents_.Release(*call);
  call->done(result);
  for (const CallPtr& follower : followers) {
    follower->outcome = call->outcome;
    follower->replayed = true;  // A repeat that waited for the first call.
    Answer(follower, result);
  }
  absl::MutexLock lock(&mu_);
  --unanswered_;
}

}  // namespace loan_gateway
