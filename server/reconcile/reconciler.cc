#include "reconcile/reconciler.h"

#include "absl/strings/str_cat.h"
#include "binance/execution_window.h"
#include "binance/money_operation.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "log/json_log.h"
#include "proto_time/proto_time.h"
#include "reconcile/attribution.h"
#include "reconcile/signed_reader.h"

namespace loan_gateway {

Reconciler::Reconciler(const config::v1::UpstreamConfig& upstream,
                       const config::v1::ReconcileConfig& reconcile,
                       ReconcilerDeps deps)
    : upstream_(upstream), reconcile_(reconcile), deps_(std::move(deps)) {}

Reconciler::~Reconciler() {
  stop_.Notify();
  passes_.reset();
}

void Reconciler::Start(WatchThread& watch) {
  passes_ = std::make_unique<PeriodicCheck>(watch, [this] {
    Pass pass = RunOnce();
    if (pass.examined > 0) {
      LogLine("info", "reconcile_pass")
          .Int("examined", pass.examined)
          .Int("executed", pass.executed)
          .Int("not_executed", pass.not_executed)
          .Int("unsettled", pass.unsettled)
          .Emit();
    }
    return FromProtoDuration(reconcile_.interval());
  });
}

absl::StatusOr<std::string> Reconciler::Get(
    const std::vector<std::pair<std::string, std::string>>& params) {
  // A read is safe to repeat; a -1021 here just waits for the next pass.
  return SignedReader(
             {upstream_.base_urls().begin(), upstream_.base_urls().end()},
             upstream_.recv_window_ms(), *deps_.transport, *deps_.binance_clock,
             deps_.credentials, deps_.ip_budget)
      .Get(binance::kBorrowRecordsPath, params);
}

absl::StatusOr<std::vector<binance::BorrowRecord>> Reconciler::FetchRecords(
    const JournalRecord& r, int64_t start_ms, int64_t end_ms) {
  std::vector<binance::BorrowRecord> rows;
  for (int page = 1; page <= 20; ++page) {
    absl::StatusOr<std::string> body = Get(
        {{"type", std::string(binance::MoneyOperationOf(r.kind).records_type)},
         {"groupId", absl::StrCat(r.group_id)},
         {"asset", r.asset},
         {"startTime", absl::StrCat(start_ms)},
         {"endTime", absl::StrCat(end_ms)},
         {"current", absl::StrCat(page)},
         {"size", "100"}});
    if (!body.ok()) return body.status();
    absl::StatusOr<binance::BorrowRecordsPage> parsed =
        binance::ParseBorrowRecords(*body);
    if (!parsed.ok()) return parsed.status();
    rows.insert(rows.end(), parsed->rows.begin(), parsed->rows.end());
    if (parsed->rows.size() < 100 ||
        static_cast<int64_t>(rows.size()) >= parsed->total)
      break;
  }
  return rows;
}

void Reconciler::SettleExecuted(const JournalRecord& r,
                                const std::string& transaction_id,
                                const std::string& amount) {
  absl::Status s =
      deps_.journal
          ->RecordOutcome(
              r.request_id,
              {.state = Outcome::kSucceeded,
               .reconciled = true,
               .transaction_id = transaction_id,
               // What a repay repaid may be less than asked.
               .result_amount =
                   binance::MoneyOperationOf(r.kind).moves_at_most_asked
                       ? amount
                       : ""})
          .status();
  LogLine(s.ok() ? "info" : "error", "reconciled")
      .Str("request_id", r.request_id)
      .Str("result", "EXECUTED")
      .Str("transaction_id", transaction_id)
      .Str("journal", s.ok() ? "ok" : s.ToString())
      .Emit();
}

void Reconciler::SettleNotExecuted(const JournalRecord& r,
                                   const std::string& why) {
  absl::Status error = contract::RuleError(
      contract::RuleForLocal(contract::kNotExecutedEvent),
      absl::StrCat("reconciliation found that Binance did "
                   "not execute this ",
                   binance::MoneyOperationOf(r.kind).log_event, " (", why,
                   "); ask again with a new request_id "
                   "if still needed"),
      {{"request_id", r.request_id},
       {"group_id", absl::StrCat(r.group_id)},
       {"asset", r.asset},
       {"amount", r.amount}});
  absl::Status s =
      deps_.journal
          ->RecordOutcome(
              r.request_id,
              {.state = Outcome::kRejected,
               .reconciled = true,
               .error = errors::ToRpcStatus(error).SerializeAsString()})
          .status();
  LogLine(s.ok() ? "info" : "error", "reconciled")
      .Str("request_id", r.request_id)
      .Str("result", "NOT_EXECUTED")
      .Str("why", why)
      .Str("journal", s.ok() ? "ok" : s.ToString())
      .Emit();
}

// Settles one record when Binance's records allow it; says what it found.
Attribution::Kind Reconciler::Reconcile(const JournalRecord& r) {
  absl::StatusOr<std::vector<AttemptRecord>> attempts =
      deps_.journal->Attempts(r.request_id);
  absl::StatusOr<std::vector<AttemptRecord>> open =
      deps_.journal->OpenAttempts(r.group_id, r.asset);
  absl::StatusOr<int64_t> now_ms = deps_.binance_clock->NowMs();
  if (!attempts.ok() || !open.ok() || !now_ms.ok())
    return Attribution::Kind::kWait;
  // Binance's rows from the first window's start to the last one's end.
  int64_t first_ms = INT64_MAX, last_ms = INT64_MIN;
  for (const AttemptRecord& a : *attempts) {
    if (a.state != AttemptState::kSent) continue;
    const binance::ExecutionWindow w =
        binance::WindowOf(a.signed_ms, a.recv_window_ms);
    first_ms = std::min(first_ms, w.first_ms);
    last_ms = std::max(last_ms, w.last_ms);
  }
  std::vector<binance::BorrowRecord> rows;
  if (first_ms <= last_ms) {
    absl::StatusOr<std::vector<binance::BorrowRecord>> fetched =
        FetchRecords(r, first_ms, last_ms);
    if (!fetched.ok()) {
      ++errors_total_;
      LogLine("warn", "reconcile_records_unavailable")
          .Str("request_id", r.request_id)
          .Str("error", fetched.status().ToString())
          .Emit();
      return Attribution::Kind::kWait;
    }
    rows = *std::move(fetched);
  }
  const Attribution found = Attribute(
      {.record = &r,
       .attempts = &*attempts,
       .rows = &rows,
       .open_attempts = &*open,
       .claimed =
           [this](const std::string& transaction_id) {
             absl::StatusOr<bool> claimed =
                 deps_.journal->TransactionClaimed(transaction_id);
             return !claimed.ok() || *claimed;  // Unreadable: not ours.
           },
       .now_ms = *now_ms,
       .settle_after_ms = absl::ToInt64Milliseconds(
           FromProtoDuration(reconcile_.settle_after()))});
  switch (found.kind) {
    case Attribution::Kind::kExecuted:
      SettleExecuted(r, found.transaction_id, found.amount);
      break;
    case Attribution::Kind::kNotExecuted:
      SettleNotExecuted(r, found.why);
      break;
    case Attribution::Kind::kAmbiguous:
      if (r.note != found.why) {
        LogLine("warn", "reconcile_ambiguous")
            .Str("request_id", r.request_id)
            .Str("why", found.why)
            .Emit();
      }
      deps_.journal->SetNote(r.request_id, found.why).IgnoreError();
      break;
    case Attribution::Kind::kWait:
      break;
  }
  return found.kind;
}

Reconciler::Pass Reconciler::RunOnce() {
  Pass pass;
  if (!deps_.journal->CheckWriter().ok()) return pass;
  // What no call of this process works on any more is reconciliation's,
  // whichever gateway sharing the journal leads it.
  if (absl::Status released = deps_.journal->ReleaseAbandoned(deps_.in_flight);
      !released.ok()) {
    LogLine("error", "reconcile_failed")
        .Str("error", released.ToString())
        .Emit();
    return pass;
  }
  // One gateway at a time settles and purges (a lease that ends with it).
  if (absl::StatusOr<bool> leads = deps_.journal->TryLeadReconciliation();
      !leads.ok() || !*leads) {
    return pass;
  }
  if (absl::StatusOr<int> purged = deps_.journal->PurgeSettledBefore(
          deps_.clock->Now() -
          FromProtoDuration(reconcile_.journal_retention()));
      purged.ok() && *purged > 0) {
    LogLine("info", "journal_purged").Int("records", *purged).Emit();
  }
  absl::StatusOr<std::vector<JournalRecord>> unsettled =
      deps_.journal->Unsettled();
  if (!unsettled.ok()) {
    LogLine("error", "reconcile_failed")
        .Str("error", unsettled.status().ToString())
        .Emit();
    return pass;
  }
  for (const JournalRecord& r : *unsettled) {
    if (stop_.HasBeenNotified())
      break;  // Shutting down: the next start resumes.
    // A lease lost midway (its session lost, another gateway took it): the
    // rest of the pass is the new holder's.
    if (absl::StatusOr<bool> leads = deps_.journal->TryLeadReconciliation();
        !leads.ok() || !*leads) {
      break;
    }
    if (deps_.in_flight && deps_.in_flight(r.request_id)) continue;
    ++pass.examined;
    switch (Reconcile(r)) {
      case Attribution::Kind::kExecuted:
        ++pass.executed;
        break;
      case Attribution::Kind::kNotExecuted:
        ++pass.not_executed;
        break;
      case Attribution::Kind::kAmbiguous:
        ++pass.ambiguous;
        ++pass.unsettled;
        break;
      case Attribution::Kind::kWait:
        ++pass.unsettled;
        break;
    }
  }
  return pass;
}

}  // namespace loan_gateway
