#ifndef LOAN_GATEWAY_SERVER_SERVICE_OPERATION_CALL_H_
#define LOAN_GATEWAY_SERVER_SERVICE_OPERATION_CALL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contract/error_table.h"
#include "institutional_loan/v1/institutional_loan.pb.h"
#include "policy/access_policy.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway {

// Where one borrow is. Each stage runs on one executor (LIFE_OF_A_BORROW.md).
// The legal moves (IsLegalTransition):
//   kReceived      -> kAdmitted | kAnswered (invalid or refused)
//   kAdmitted      -> kQueued | kFollowing (a repeat) | kAnswered (answered
//                     from the journal, the journal failed, or a dry run)
//   kFollowing     -> kAnswered (with the first call's answer)
//   kQueued        -> kPreparing (its turn) | kSettling (refused waiting)
//   kPreparing     -> kSending | kWaitingWindow | kSettling (refused)
//   kWaitingWindow -> kPreparing | kSettling (refused by a drain)
//   kSending       -> kPreparing (only as DecideResend allows: provably never
//                     left, or Binance refused its timestamp) | kSettling
//   kSettling      -> kAnswered
enum class OperationStage {
  kReceived,       // Decoded; not yet validated or admitted.
  kAdmitted,       // Valid and admitted; its intent is being journaled.
  kFollowing,      // A repeat of a request_id in progress: waits for it.
  kQueued,         // Intent durable; waits for its risk unit's turn.
  kPreparing,      // Holds the turn: last checks, weight, attempt journaled.
  kWaitingWindow,  // Holds the turn; an earlier unknown's window must pass.
  kSending,        // Attempt durable: being signed, sent, or at Binance.
  kSettling,       // Its outcome is being journaled.
  kAnswered,       // The caller has its answer.
};
absl::string_view OperationStageName(OperationStage stage);

// Whether a borrow may go from `from` to `to` (the diagram above).
bool IsLegalTransition(OperationStage from, OperationStage to);

// One Borrow call: what it asked, where it is, and what it came to. Only the
// stage currently holding the call touches it, so it needs no lock.
struct OperationCall {
  using Done = std::function<void(
      absl::StatusOr<institutional_loan::v1::BorrowResponse>)>;

  // Moves to `next`; false (and the stage unchanged) when the diagram does
  // not allow it: a bug, which the pipeline logs.
  bool Advance(OperationStage next);
  OperationStage stage() const { return stage_; }

  OperationKind kind = OperationKind::kBorrow;  // Borrow or repay.
  std::string request_id;
  std::string caller;
  // What the access policy lets this caller do; null only in the insecure
  // sandbox without a policy. Shares ownership of its policy, which a reload
  // may replace meanwhile.
  std::shared_ptr<const CallerRule> rule;
  std::optional<ValidBorrow> borrow;  // Set once validated.
  Done done;
  std::function<bool()> caller_gone;  // Optional: the caller cancelled.
  // A dry run (AIP-163): checked, never journaled, signed or sent.
  bool validate_only = false;
  // The policy let the caller call Borrow (false: refused before, or not
  // even named).
  bool admitted = false;
  absl::Time started;
  absl::Time deadline;

  // Sending.
  size_t base_url_index = 0;
  bool resigned = false;    // Already re-signed once after -1021.
  bool holds_turn = false;  // Owns its risk unit's turn in the queue.
  // Another gateway sharing the journal held the risk unit's turn.
  bool waited_elsewhere = false;
  int attempts = 0;         // Requests sent to Binance for this call.
  absl::Duration upstream_latency;

  // What it came to: picks the journal state and labels the log line and
  // the metrics. A refusal before sending is REJECTED (nothing left).
  Outcome outcome = Outcome::kRejected;
  bool replayed = false;  // Answered from the journal or a first call.
  std::optional<int64_t> binance_code;
  long http_status = 0;
  std::string transport_error;

 private:
  OperationStage stage_ = OperationStage::kReceived;
};

// The call's one "borrow" log line: who, what, what it came to, and how long
// it took. `reason` is the ErrorInfo reason ("SUCCEEDED" when it succeeded).
void EmitOperationLogLine(
    const OperationCall& call,
    const absl::StatusOr<institutional_loan::v1::BorrowResponse>& result,
    absl::string_view reason, absl::Duration total);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_OPERATION_CALL_H_
