#ifndef LOAN_GATEWAY_SERVER_CONTRACT_ERROR_TABLE_H_
#define LOAN_GATEWAY_SERVER_CONTRACT_ERROR_TABLE_H_

#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "contract/outcome.h"
#include "institutional_loan/v1/error_reason.pb.h"

// The gateway's error contract: every error a caller can get, as data. The
// README's table is rendered from it, and every module that refuses a borrow
// builds its error from its row (rule_error.h).
namespace loan_gateway::contract {

using institutional_loan::v1::ErrorReason;

// The ErrorInfo reason string of `reason`: its enum value's name.
const std::string& ReasonName(ErrorReason reason);

// Which extra google.rpc detail a row adds besides ErrorInfo.
enum class ExtraDetail {
  kNone,
  kPreconditionFailure,
  kQuotaFailure,
  kBadRequest
};

// One row of the gateway's error contract. A row matches a Binance error
// code, an HTTP status (or a whole HTTP class such as 5XX), or a transport
// event; `ErrorTable()` lists them in the order they are tried.
struct ErrorRule {
  enum class Match {
    kTransport,
    kHttpStatus,
    kHttpClass,
    kBinanceCode,
    kFallback,
    kLocal,  // Decided by the gateway before anything is sent.
    kQuery   // GetBorrow: read from the journal; no borrow is made.
  };
  Match match;
  int value;  // The code, status, class digit, or transport event below.
  // What the borrow came to; none for a GetBorrow refusal (kQuery).
  std::optional<Outcome> outcome;
  absl::StatusCode code;
  ErrorReason reason;
  ExtraDetail extra;
  std::optional<absl::Duration>
      retry_after;              // RetryInfo default, if waiting helps.
  absl::string_view situation;  // For the README table.
};

// Transport events and fallbacks, as ErrorRule::value.
enum TransportEvent : int {
  kNotSentEvent = 1,        // DNS/connect/TLS failure before any byte left.
  kMaybeSentEvent = 2,      // Timeout or reset after the request may have left.
  kUnreadable2xxEvent = 3,  // A 2XX without a readable transaction id.
  kParameterCodeEvent = 4,  // Unlisted -1100..-1131 parameter code.
  kOther4xxEvent = 5,       // Any other 4XX.
  kOtherStatusEvent = 6,    // 1XX/3XX: nothing Binance documents.
};

// Refusals decided before signing (Match::kLocal); nothing is sent for them.
// The modules that decide them build their own errors (they sit below this
// one); service tests check each against its row here.
enum LocalEvent : int {
  kInvalidRequestEvent = 101,
  kDeadlineTooShortEvent = 102,
  kClockUnknownEvent = 103,
  kWeightSpentEvent = 104,
  kBreakerOpenEvent = 105,
  kSigningFailedEvent = 106,
  kRequestIdConflictEvent = 107,
  kJournalUnavailableEvent = 108,
  kRiskUnitBusyEvent = 109,
  kNotExecutedEvent = 110,  // Settled by reconciliation: Binance has no record.
  kDrainingEvent = 111,     // Shutting down: not sent, refused.
  kCallerGoneEvent = 112,   // The caller left before it was sent.
  kTimeUnreachableEvent = 113,  // No offset: /api/v3/time never answered.
  kUnauthenticatedEvent = 114,  // No caller identity in its certificate.
  // The access policy's refusals (policy/access_policy.h).
  kCallerNotAllowedEvent = 115,
  kMethodNotAllowedEvent = 116,
  kRiskUnitNotAllowedEvent = 117,
  kAssetNotAllowedEvent = 118,
  kAmountAboveCallerLimitEvent = 119,
  kCallerCapReachedEvent = 120,
  kBorrowingHaltedEvent = 121,    // The kill switch is on.
  kAuditUnavailableEvent = 122,   // The audit log cannot be written.
  kUpstreamQueueFullEvent = 123,  // No room to wait for a connection.
};

// GetBorrow's refusals (Match::kQuery): about a lookup, not a borrow, so
// they carry no outcome.
enum QueryEvent : int {
  kQueryInvalidEvent = 201,
  kQueryJournalUnavailableEvent = 202,
  kBorrowNotFoundEvent = 203,
  kQueryAuditUnavailableEvent = 204,
  kListInvalidEvent = 205,
  kReadInvalidEvent = 206,         // GetMaxBorrowable's request.
  kReadUpstreamFailedEvent = 207,  // A read from Binance that failed.
  kRiskUnitUnlistedEvent = 208,    // ltv-details lists no such unit.
};
const ErrorRule& RuleForLocal(LocalEvent event);
const ErrorRule& RuleForQuery(QueryEvent event);

std::span<const ErrorRule> ErrorTable();

// The row for a Binance code, an HTTP status, or an event.
const ErrorRule& RuleForTransport(TransportEvent event);
const ErrorRule* RuleForHttpStatus(long http_status);  // nullptr: no row.
const ErrorRule* RuleForBinanceCode(int64_t code);     // nullptr: no row.

// The table as the Markdown the README shows (one row per ErrorRule).
std::string RenderErrorTableMarkdown();

}  // namespace loan_gateway::contract

#endif  // LOAN_GATEWAY_SERVER_CONTRACT_ERROR_TABLE_H_
