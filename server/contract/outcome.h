#ifndef LOAN_GATEWAY_SERVER_CONTRACT_OUTCOME_H_
#define LOAN_GATEWAY_SERVER_CONTRACT_OUTCOME_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace loan_gateway {

// What a borrow came to: one vocabulary for Binance's answer as classified,
// the journal's record, the log line, the metrics and GetBorrow's state.
enum class Outcome {
  kPending,    // Journaled; no answer yet (never the class of an answer).
  kSucceeded,  // Executed; Binance returned its transaction id.
  kRejected,   // Provably not executed (rejected, refused or never sent).
  kUnknown,    // May have executed: never resend, settle by reconciliation.
};

// "PENDING", "SUCCEEDED", "REJECTED" or "UNKNOWN": the journal's column, the
// log's and metrics' label, and ErrorInfo's `outcome` metadata.
absl::string_view OutcomeName(Outcome outcome);
std::optional<Outcome> ParseOutcome(absl::string_view name);

// Which money operation a journal record is: its stages are the same, its
// Binance endpoint, answer and records type differ.
enum class OperationKind {
  kBorrow,
  kRepay,
};

// "BORROW" or "REPAY": the journal's column and the records `type` Binance
// lists the operation under.
absl::string_view OperationKindName(OperationKind kind);
std::optional<OperationKind> ParseOperationKind(absl::string_view name);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONTRACT_OUTCOME_H_
