#ifndef LOAN_GATEWAY_SERVER_BINANCE_MONEY_OPERATION_H_
#define LOAN_GATEWAY_SERVER_BINANCE_MONEY_OPERATION_H_

#include "absl/strings/string_view.h"
#include "contract/outcome.h"

namespace loan_gateway::binance {

// What makes one money operation itself; everything else (validation, the
// policy, the journal, the risk unit's turn, signing, classifying, settling,
// reconciling) is the same stages for all. A third operation is one more
// entry here.
struct MoneyOperation {
  OperationKind kind;
  // The RPC, the policy's method and the audit trail's name: "Borrow".
  absl::string_view name;
  absl::string_view log_event;  // The call's log line: "borrow".
  const char* path;             // Binance's endpoint (POST, signed).
  // `type` of GET .../borrow-repay that lists it, and the row type that can
  // be the gateway's own (a FORCE_REPAY is a liquidation, never a request).
  absl::string_view records_type;
  absl::string_view own_record_type;
  // It adds to what the risk unit owes: the caller's amount limits, rolling
  // caps and the max-borrowable pre-flight apply.
  bool adds_liability;
  // Binance may move less than asked (a repay repays min(available, asked)):
  // its record's amount is at most the amount asked, not equal to it.
  bool moves_at_most_asked;
};

const MoneyOperation& MoneyOperationOf(OperationKind kind);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_MONEY_OPERATION_H_
