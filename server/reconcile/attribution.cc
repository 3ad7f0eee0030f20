#include "reconcile/attribution.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "binance/execution_window.h"
#include "binance/money_operation.h"
#include "validate/amount_units.h"
#include "validate/decimal.h"

namespace loan_gateway {
namespace {

using binance::BorrowRecord;
using binance::ExecutionWindow;

std::vector<ExecutionWindow> OpenWindows(
    const std::vector<AttemptRecord>& attempts) {
  std::vector<ExecutionWindow> windows;
  for (const AttemptRecord& a : attempts) {
    if (a.state == AttemptState::kSent) {
      windows.push_back(binance::WindowOf(a.signed_ms, a.recv_window_ms));
    }
  }
  return windows;
}

bool InAny(const std::vector<ExecutionWindow>& windows, int64_t t_ms) {
  return std::any_of(
      windows.begin(), windows.end(),
      [&](const ExecutionWindow& w) { return w.Contains(t_ms); });
}

// Whether a Binance record of `amount` can be this operation's: a borrow's
// is its amount; a repay's what Binance repaid, more than 0 and no more than
// asked (Binance repays min(available, asked)).
bool AmountFits(const JournalRecord& record, const std::string& amount) {
  if (!binance::MoneyOperationOf(record.kind).moves_at_most_asked) {
    return Decimal::SameNumber(amount, record.amount);
  }
  absl::StatusOr<AmountUnits> moved = UpstreamAmountUnitsFloor(amount);
  absl::StatusOr<AmountUnits> asked = ToAmountUnits(record.amount);
  return moved.ok() && asked.ok() && *moved > 0 && *moved <= *asked;
}

// The records `type` of this operation's own rows: a forced repay
// (liquidation) is never a request of the gateway's.
bool TypeFits(const JournalRecord& record, const std::string& type) {
  // A row without a type is a borrow's (the query asked for borrows).
  return type == binance::MoneyOperationOf(record.kind).own_record_type ||
         (type.empty() && record.kind == OperationKind::kBorrow);
}

// Other request_ids' open attempts of the same kind whose window holds t, of
// the same amount for a borrow (a repay's record may be any amount up to
// the one asked, so every open repay attempt there is a rival).
std::vector<std::string> RivalsAt(const AttributionInput& in, int64_t t_ms) {
  std::vector<std::string> rivals;
  for (const AttemptRecord& a : *in.open_attempts) {
    if (a.request_id == in.record->request_id ||
        a.state != AttemptState::kSent || a.kind != in.record->kind ||
        (!binance::MoneyOperationOf(a.kind).moves_at_most_asked &&
         !Decimal::SameNumber(a.amount, in.record->amount)) ||
        !binance::WindowOf(a.signed_ms, a.recv_window_ms).Contains(t_ms)) {
      continue;
    }
    if (std::find(rivals.begin(), rivals.end(), a.request_id) == rivals.end())
      rivals.push_back(a.request_id);
  }
  return rivals;
}

Attribution Ambiguous(std::string why) {
  return {Attribution::Kind::kAmbiguous, "", std::move(why)};
}

}  // namespace

Attribution Attribute(const AttributionInput& in) {
  const std::vector<ExecutionWindow> windows = OpenWindows(*in.attempts);
  if (windows.empty()) {
    // Every request it signed is known not to have executed (or it never
    // signed one: the attempt is journaled before signing).
    return {Attribution::Kind::kNotExecuted, "",
            in.attempts->empty() ? "it was never signed"
                                 : "no attempt of it can have executed"};
  }
  std::vector<const BorrowRecord*> candidates;
  bool undecided = false;
  for (const BorrowRecord& row : *in.rows) {
    if (row.asset != in.record->asset || !AmountFits(*in.record, row.amount) ||
        !TypeFits(*in.record, row.type) || !InAny(windows, row.timestamp_ms)) {
      continue;
    }
    if (row.status != "CONFIRM") {
      undecided |= row.status != "FAILED";
      continue;
    }
    if (!in.claimed(row.transaction_id)) candidates.push_back(&row);
  }
  if (candidates.size() > 1) {
    std::vector<std::string> ids;
    for (const BorrowRecord* row : candidates)
      ids.push_back(row->transaction_id);
    return Ambiguous(absl::StrCat(
        "ambiguous: ", candidates.size(), " unattributed Binance records of ",
        in.record->amount, " ", in.record->asset,
        " fall in its execution window (transactions ",
        absl::StrJoin(ids, ", "), ")"));
  }
  if (candidates.size() == 1) {
    const BorrowRecord& row = *candidates.front();
    std::vector<std::string> rivals = RivalsAt(in, row.timestamp_ms);
    if (!rivals.empty()) {
      return Ambiguous(
          absl::StrCat("ambiguous: Binance record ", row.transaction_id,
                       " falls in the execution window of this operation and "
                       "of ",
                       absl::StrJoin(rivals, ", ")));
    }
    return {Attribution::Kind::kExecuted, row.transaction_id,
            absl::StrCat("Binance record ", row.transaction_id,
                         " is in its execution window and no other's"),
            row.amount};
  }
  if (undecided) {
    return {Attribution::Kind::kWait, "",
            "Binance has a matching record it has not settled yet"};
  }
  int64_t last_ms = windows.front().last_ms;
  for (const ExecutionWindow& w : windows)
    last_ms = std::max(last_ms, w.last_ms);
  if (in.now_ms - last_ms >= in.settle_after_ms) {
    return {Attribution::Kind::kNotExecuted, "",
            "Binance has no record in its execution window"};
  }
  return {Attribution::Kind::kWait, "", "too early to conclude"};
}

}  // namespace loan_gateway
