#include "reconcile/reconciler.h"

#include "absl/strings/str_cat.h"
#include "binance/borrow_outcome.h"
#include "binance/error_table.h"
#include "errors/error_details.h"
#include "log/json_log.h"

namespace loan_gateway {

Reconciler::Reconciler(ReconcilerOptions options, ReconcilerDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {}

Reconciler::~Reconciler() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Reconciler::Start() {
  thread_ = std::thread([this] {
    do {
      Pass pass = RunOnce();
      if (pass.examined > 0) {
        LogLine("info", "reconcile_pass")
            .Int("examined", pass.examined)
            .Int("executed", pass.executed)
            .Int("not_executed", pass.not_executed)
            .Int("unsettled", pass.unsettled)
            .Emit();
      }
    } while (!stop_.WaitForNotificationWithTimeout(options_.interval));
  });
}

absl::StatusOr<std::string> Reconciler::Get(
    const std::vector<std::pair<std::string, std::string>>& params) {
  absl::StatusOr<int64_t> now_ms = deps_.server_time->NowMs();
  if (!now_ms.ok()) return now_ms.status();
  absl::Status last = absl::UnavailableError("no base URL");
  for (const std::string& base_url : options_.base_urls) {
    absl::StatusOr<HttpRequest> request = binance::BuildSignedRequest(
        HttpRequest::Method::kGet, base_url, binance::kBorrowRecordsPath,
        params, *now_ms, options_.recv_window_ms, deps_.credentials);
    if (!request.ok()) return request.status();
    absl::Notification done;
    HttpResult result;
    deps_.transport->Send(*std::move(request), [&](HttpResult r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    if (result.delivery == Delivery::kCompleted && result.status == 200)
      return result.body;
    last = absl::UnavailableError(
        absl::StrCat("borrow records unavailable: ",
                     result.error.empty() ? absl::StrCat("HTTP ", result.status)
                                          : result.error));
    // A read is safe to repeat; a -1021 here just waits for the next pass.
  }
  return last;
}

absl::StatusOr<std::vector<binance::BorrowRecord>> Reconciler::FetchRecords(
    const JournalRecord& r) {
  std::vector<binance::BorrowRecord> rows;
  const int64_t start = absl::ToUnixMillis(r.created - options_.look_back);
  for (int page = 1; page <= 20; ++page) {
    absl::StatusOr<std::string> body =
        Get({{"type", "BORROW"},
             {"groupId", absl::StrCat(r.group_id)},
             {"asset", r.asset},
             {"startTime", absl::StrCat(start)},
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
                                const std::string& transaction_id) {
  absl::Status s = deps_.journal->RecordOutcome(
      r.request_id, JournalState::kSucceeded,
      /*reconciled=*/true, /*retryable=*/false, transaction_id, "");
  LogLine(s.ok() ? "info" : "error", "reconciled")
      .Str("request_id", r.request_id)
      .Str("result", "EXECUTED")
      .Str("transaction_id", transaction_id)
      .Str("journal", s.ok() ? "ok" : s.ToString())
      .Emit();
}

void Reconciler::SettleNotExecuted(const JournalRecord& r) {
  absl::Status error =
      binance::RuleError(binance::RuleForLocal(binance::kNotExecutedEvent),
                         "reconciliation found that Binance did not execute "
                         "this borrow; borrow again with a new request_id if "
                         "still needed",
                         {{"request_id", r.request_id},
                          {"group_id", absl::StrCat(r.group_id)},
                          {"asset", r.asset},
                          {"amount", r.amount}});
  absl::Status s = deps_.journal->RecordOutcome(
      r.request_id, JournalState::kRejected, /*reconciled=*/true,
      /*retryable=*/false, "", errors::ToRpcStatus(error).SerializeAsString());
  LogLine(s.ok() ? "info" : "error", "reconciled")
      .Str("request_id", r.request_id)
      .Str("result", "NOT_EXECUTED")
      .Str("journal", s.ok() ? "ok" : s.ToString())
      .Emit();
}

Reconciler::Pass Reconciler::RunOnce() {
  Pass pass;
  if (absl::StatusOr<int> purged = deps_.journal->PurgeSettledBefore(
          deps_.clock->Now() - options_.retention);
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
    if (deps_.in_flight && deps_.in_flight(r.request_id)) continue;
    ++pass.examined;
    absl::StatusOr<std::vector<binance::BorrowRecord>> rows = FetchRecords(r);
    if (!rows.ok()) {
      ++pass.unsettled;
      LogLine("warn", "reconcile_records_unavailable")
          .Str("request_id", r.request_id)
          .Str("error", rows.status().ToString())
          .Emit();
      continue;
    }
    std::string match;
    bool undecided_row = false;  // A matching row Binance has not settled yet.
    // Clocks differ a little; a record well before the intent is another
    // borrow.
    const int64_t earliest = absl::ToUnixMillis(r.created - absl::Seconds(30));
    for (const binance::BorrowRecord& row : *rows) {
      if (row.asset != r.asset || row.timestamp_ms < earliest ||
          !binance::SameDecimal(row.amount, r.amount)) {
        continue;
      }
      if (row.status != "CONFIRM") {
        undecided_row |= row.status != "FAILED";
        continue;
      }
      absl::StatusOr<bool> claimed =
          deps_.journal->TransactionClaimed(row.transaction_id);
      if (claimed.ok() && !*claimed) {
        match = row.transaction_id;
        break;
      }
    }
    if (!match.empty()) {
      SettleExecuted(r, match);
      ++pass.executed;
    } else if (!undecided_row &&
               deps_.clock->Now() - r.created >= options_.settle_after) {
      SettleNotExecuted(r);
      ++pass.not_executed;
    } else {
      ++pass.unsettled;
    }
  }
  return pass;
}

}  // namespace loan_gateway
