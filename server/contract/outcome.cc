#include "contract/outcome.h"

namespace loan_gateway {

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "PENDING";
    case Outcome::kSucceeded:
      return "SUCCEEDED";
    case Outcome::kRejected:
      return "REJECTED";
    case Outcome::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

std::optional<Outcome> ParseOutcome(absl::string_view name) {
  for (Outcome outcome : {Outcome::kPending, Outcome::kSucceeded,
                          Outcome::kRejected, Outcome::kUnknown}) {
    if (OutcomeName(outcome) == name) return outcome;
  }
  return std::nullopt;
}

absl::string_view OperationKindName(OperationKind kind) {
  return kind == OperationKind::kRepay ? "REPAY" : "BORROW";
}

std::optional<OperationKind> ParseOperationKind(absl::string_view name) {
  if (name == "BORROW") return OperationKind::kBorrow;
  if (name == "REPAY") return OperationKind::kRepay;
  return std::nullopt;
}

}  // namespace loan_gateway
