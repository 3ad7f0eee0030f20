#include "contract/error_table.h"

#include "absl/strings/str_cat.h"

namespace loan_gateway::contract {
namespace {

using absl::StatusCode;
using M = ErrorRule::Match;
using O = Outcome;
using X = ExtraDetail;
using R = ErrorReason;

constexpr auto kNoRetry = std::nullopt;

// The error contract (README "Errors"), one row per situation. Order matters:
// transport events, then HTTP statuses (which win over any body), then codes.
const ErrorRule kTable[] = {
    {M::kTransport, kNotSentEvent, O::kRejected, StatusCode::kUnavailable,
     R::UPSTREAM_UNREACHABLE, X::kNone, absl::Seconds(1),
     "connect/DNS/TLS failure before anything was sent"},
    {M::kTransport, kMaybeSentEvent, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry,
     "timeout or reset after the request may have been sent"},
    {M::kHttpClass, 5, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry,
     "HTTP 5XX, whatever the body"},
    {M::kHttpStatus, 429, O::kRejected, StatusCode::kResourceExhausted,
     R::UPSTREAM_RATE_LIMITED, X::kQuotaFailure, absl::Seconds(60),
     "HTTP 429 (RetryInfo from Retry-After)"},
    {M::kHttpStatus, 418, O::kRejected, StatusCode::kUnavailable,
     R::UPSTREAM_BANNED, X::kNone, absl::Seconds(120),
     "HTTP 418 IP ban (RetryInfo from Retry-After)"},
    {M::kHttpStatus, 403, O::kRejected, StatusCode::kUnavailable,
     R::UPSTREAM_BANNED, X::kNone, absl::Seconds(300), "HTTP 403 WAF block"},
    {M::kTransport, kUnreadable2xxEvent, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry,
     "HTTP 2XX without a readable transaction id"},
    {M::kBinanceCode, -27009, O::kRejected, StatusCode::kFailedPrecondition,
     R::BORROW_LIMIT_EXCEEDED, X::kPreconditionFailure, kNoRetry,
     "amount exceeds the maximum allowed limit"},
    {M::kBinanceCode, -27012, O::kRejected, StatusCode::kFailedPrecondition,
     R::INSUFFICIENT_MARGIN, X::kPreconditionFailure, kNoRetry,
     "insufficient margin"},
    {M::kBinanceCode, -27020, O::kRejected, StatusCode::kFailedPrecondition,
     R::LTV_TOO_HIGH, X::kPreconditionFailure, kNoRetry, "LTV too high"},
    {M::kBinanceCode, -27024, O::kRejected, StatusCode::kFailedPrecondition,
     R::RISK_UNIT_IN_LIQUIDATION, X::kPreconditionFailure, kNoRetry,
     "risk unit in liquidation"},
    {M::kBinanceCode, -1024, O::kRejected, StatusCode::kFailedPrecondition,
     R::RISK_UNIT_IN_LIQUIDATION, X::kPreconditionFailure, kNoRetry,
     "risk unit in liquidation"},
    {M::kBinanceCode, -27001, O::kRejected, StatusCode::kNotFound,
     R::RISK_UNIT_NOT_FOUND, X::kNone, kNoRetry, "risk unit not found"},
    {M::kBinanceCode, -27010, O::kRejected, StatusCode::kNotFound,
     R::RISK_UNIT_NOT_FOUND, X::kNone, kNoRetry, "credit account not found"},
    {M::kBinanceCode, -27025, O::kRejected, StatusCode::kAborted,
     R::PREVIOUS_TRANSACTION_PENDING, X::kNone, absl::Seconds(2),
     "previous transaction pending"},
    {M::kBinanceCode, -1025, O::kRejected, StatusCode::kAborted,
     R::PREVIOUS_TRANSACTION_PENDING, X::kNone, absl::Seconds(2),
     "previous transaction pending"},
    {M::kBinanceCode, -3007, O::kRejected, StatusCode::kAborted,
     R::PREVIOUS_TRANSACTION_PENDING, X::kNone, absl::Seconds(2),
     "previous transaction pending"},
    {M::kBinanceCode, -1003, O::kRejected, StatusCode::kResourceExhausted,
     R::UPSTREAM_RATE_LIMITED, X::kQuotaFailure, absl::Seconds(60),
     "too many requests"},
    {M::kBinanceCode, -1021, O::kRejected, StatusCode::kUnavailable,
     R::CLOCK_SKEW, X::kNone, absl::Seconds(1),
     "timestamp outside recvWindow, again after one resync + re-sign"},
    {M::kBinanceCode, -1022, O::kRejected, StatusCode::kInternal,
     R::UPSTREAM_CREDENTIALS_REJECTED, X::kNone, kNoRetry,
     "signature rejected"},
    {M::kBinanceCode, -2014, O::kRejected, StatusCode::kInternal,
     R::UPSTREAM_CREDENTIALS_REJECTED, X::kNone, kNoRetry,
     "API key format invalid"},
    {M::kBinanceCode, -2015, O::kRejected, StatusCode::kInternal,
     R::UPSTREAM_CREDENTIALS_REJECTED, X::kNone, kNoRetry,
     "key, IP or permission rejected"},
    {M::kBinanceCode, -1002, O::kRejected, StatusCode::kInternal,
     R::UPSTREAM_CREDENTIALS_REJECTED, X::kNone, kNoRetry, "unauthorized"},
    {M::kBinanceCode, -1000, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry, "unknown error at Binance"},
    {M::kBinanceCode, -1001, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry,
     "Binance internal disconnect"},
    {M::kBinanceCode, -1006, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry, "unexpected response"},
    {M::kBinanceCode, -1007, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry, "Binance backend timeout"},
    {M::kBinanceCode, -3000, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry, "Binance internal error"},
    {M::kBinanceCode, -27016, O::kRejected, StatusCode::kInvalidArgument,
     R::BINANCE_ERROR, X::kNone, kNoRetry, "amount precision"},
    {M::kBinanceCode, -1111, O::kRejected, StatusCode::kInvalidArgument,
     R::BINANCE_ERROR, X::kNone, kNoRetry, "amount precision"},
    {M::kBinanceCode, -27017, O::kRejected, StatusCode::kInvalidArgument,
     R::BINANCE_ERROR, X::kNone, kNoRetry, "asset not supported"},
    {M::kBinanceCode, -27011, O::kRejected, StatusCode::kFailedPrecondition,
     R::NO_LIABILITY, X::kNone, kNoRetry,
     "repay: the risk unit owes nothing of the asset"},
    {M::kBinanceCode, -27015, O::kRejected, StatusCode::kFailedPrecondition,
     R::INSUFFICIENT_BALANCE, X::kNone, kNoRetry,
     "repay: not enough balance to repay with"},
    {M::kBinanceCode, -27031, O::kRejected, StatusCode::kFailedPrecondition,
     R::BINANCE_ERROR, X::kPreconditionFailure, absl::Seconds(120),
     "2-minute block after adding collateral"},
    {M::kFallback, kParameterCodeEvent, O::kRejected,
     StatusCode::kInvalidArgument, R::BINANCE_ERROR, X::kNone, kNoRetry,
     "other parameter code -1100..-1131"},
    {M::kFallback, kOther4xxEvent, O::kRejected,
     StatusCode::kFailedPrecondition, R::BINANCE_ERROR, X::kPreconditionFailure,
     kNoRetry, "any other Binance code or 4XX (code kept in metadata)"},
    {M::kFallback, kOtherStatusEvent, O::kUnknown, StatusCode::kUnknown,
     R::BORROW_OUTCOME_UNKNOWN, X::kNone, kNoRetry,
     "1XX/3XX or any other unexpected HTTP status"},
    {M::kLocal, kInvalidRequestEvent, O::kRejected,
     StatusCode::kInvalidArgument, R::INVALID_REQUEST, X::kBadRequest, kNoRetry,
     "gateway: a bad field (BadRequest names every one)"},
    {M::kLocal, kDeadlineTooShortEvent, O::kRejected,
     StatusCode::kDeadlineExceeded, R::DEADLINE_TOO_SHORT, X::kNone, kNoRetry,
     "gateway: the call's deadline leaves less than --min_call_deadline"},
    {M::kLocal, kClockUnknownEvent, O::kRejected, StatusCode::kUnavailable,
     R::CLOCK_SKEW, X::kNone, absl::Seconds(1),
     "gateway: Binance time too uncertain for recvWindow"},
    {M::kLocal, kTimeUnreachableEvent, O::kRejected, StatusCode::kUnavailable,
     R::UPSTREAM_UNREACHABLE, X::kNone, absl::Seconds(1),
     "gateway: Binance time unknown because GET /api/v3/time has not "
     "answered (unreachable, or e.g. a 404 from a base URL with a path)"},
    {M::kLocal, kWeightSpentEvent, O::kRejected, StatusCode::kResourceExhausted,
     R::UPSTREAM_RATE_LIMITED, X::kQuotaFailure, absl::Seconds(60),
     "gateway: the credit account's UID weight for this minute is spent "
     "(RetryInfo: until the next minute)"},
    {M::kLocal, kBreakerOpenEvent, O::kRejected, StatusCode::kUnavailable,
     R::UPSTREAM_BANNED, X::kNone, absl::Seconds(120),
     "gateway: held after a 429/418/403, with that answer's code and reason "
     "(RetryInfo: time left)"},
    {M::kLocal, kSigningFailedEvent, O::kRejected, StatusCode::kInternal,
     R::SIGNING_FAILED, X::kNone, kNoRetry,
     "gateway: the request could not be signed"},
    {M::kLocal, kRequestIdConflictEvent, O::kRejected,
     StatusCode::kAlreadyExists, R::REQUEST_ID_CONFLICT, X::kNone, kNoRetry,
     "gateway: the request_id was used for another borrow"},
    {M::kLocal, kJournalUnavailableEvent, O::kRejected,
     StatusCode::kUnavailable, R::JOURNAL_UNAVAILABLE, X::kNone,
     absl::Seconds(1),
     "gateway: the journal cannot be written, so nothing was signed"},
    {M::kLocal, kRiskUnitBusyEvent, O::kRejected,
     StatusCode::kResourceExhausted, R::RISK_UNIT_BUSY, X::kNone,
     absl::Seconds(1),
     "gateway: too many borrows waiting for the risk unit, or the call's "
     "deadline ends before an unknown borrow's window has passed "
     "(RetryInfo: the wait)"},
    {M::kLocal, kDrainingEvent, O::kRejected, StatusCode::kUnavailable,
     R::GATEWAY_DRAINING, X::kNone, absl::Seconds(1),
     "gateway: shutting down; a borrow not sent yet is refused (calls already "
     "sent get their outcome)"},
    {M::kLocal, kCallerGoneEvent, O::kRejected, StatusCode::kCancelled,
     R::CALLER_GONE, X::kNone, absl::Seconds(1),
     "gateway: the caller cancelled, or its deadline passed, before the "
     "borrow was sent (a repeat with its request_id may send it)"},
    {M::kLocal, kUnauthenticatedEvent, O::kRejected,
     StatusCode::kUnauthenticated, R::CALLER_UNAUTHENTICATED, X::kNone,
     kNoRetry,
     "gateway: the client certificate names no caller (no URI or DNS SAN, "
     "no CN); a connection without a valid certificate gets no call at all"},
    {M::kLocal, kCallerNotAllowedEvent, O::kRejected,
     StatusCode::kPermissionDenied, R::CALLER_NOT_ALLOWED, X::kNone, kNoRetry,
     "policy: the caller's identity is not in --policy_file (deny by "
     "default)"},
    {M::kLocal, kMethodNotAllowedEvent, O::kRejected,
     StatusCode::kPermissionDenied, R::METHOD_NOT_ALLOWED, X::kNone, kNoRetry,
     "policy: the caller may not call this method"},
    {M::kLocal, kRiskUnitNotAllowedEvent, O::kRejected,
     StatusCode::kPermissionDenied, R::RISK_UNIT_NOT_ALLOWED, X::kNone,
     kNoRetry, "policy: the caller may not borrow for this risk unit"},
    {M::kLocal, kAssetNotAllowedEvent, O::kRejected,
     StatusCode::kPermissionDenied, R::ASSET_NOT_ALLOWED, X::kNone, kNoRetry,
     "policy: the caller may not borrow this asset"},
    {M::kLocal, kAmountAboveCallerLimitEvent, O::kRejected,
     StatusCode::kPermissionDenied, R::AMOUNT_ABOVE_CALLER_LIMIT, X::kNone,
     kNoRetry, "policy: the amount is above the caller's max_amount_per_call"},
    {M::kLocal, kCallerCapReachedEvent, O::kRejected,
     StatusCode::kResourceExhausted, R::CALLER_CAP_REACHED, X::kQuotaFailure,
     absl::Seconds(1),
     "policy: the caller's rolling cap for the asset would be exceeded "
     "(borrows in flight and unknown ones count; RetryInfo: when enough of "
     "the window frees up, if it will)"},
    {M::kLocal, kBorrowingHaltedEvent, O::kRejected, StatusCode::kUnavailable,
     R::BORROWING_HALTED, X::kNone, absl::Seconds(5),
     "gateway: an operator halted borrowing (GatewayAdmin.HaltBorrowing or "
     "--halt_file); nothing was sent, borrows already sent finish (RetryInfo: "
     "poll; a repeat after the resume may send it)"},
    {M::kLocal, kAuditUnavailableEvent, O::kRejected, StatusCode::kUnavailable,
     R::AUDIT_UNAVAILABLE, X::kNone, absl::Seconds(30),
     "gateway: the audit log cannot be written, so nothing is signed (fail "
     "closed) until it is fixed and the gateway restarted"},
    {M::kLocal, kUpstreamQueueFullEvent, O::kRejected,
     StatusCode::kResourceExhausted, R::UPSTREAM_QUEUE_FULL, X::kNone,
     absl::Seconds(1),
     "gateway: more requests wait for a connection to Binance than "
     "--upstream_queue_limit; nothing was sent"},
    {M::kLocal, kNotExecutedEvent, O::kRejected,
     StatusCode::kFailedPrecondition, R::BORROW_NOT_EXECUTED, X::kNone,
     kNoRetry,
     "reconciliation: no Binance record of an unknown borrow (GetBorrow, "
     "repeats)"},
    {M::kQuery, kQueryInvalidEvent, std::nullopt, StatusCode::kInvalidArgument,
     R::INVALID_REQUEST, X::kBadRequest, kNoRetry,
     "GetBorrow: the request_id is not a UUID (or not UTF-8)"},
    {M::kQuery, kQueryJournalUnavailableEvent, std::nullopt,
     StatusCode::kUnavailable, R::JOURNAL_UNAVAILABLE, X::kNone,
     absl::Seconds(1), "GetBorrow: the journal cannot be read"},
    {M::kQuery, kListInvalidEvent, std::nullopt, StatusCode::kInvalidArgument,
     R::INVALID_REQUEST, X::kBadRequest, kNoRetry,
     "ListOperations: a negative page_size or group_id, an unknown asset or "
     "state, or a page_token made for other filters"},
    {M::kQuery, kReadInvalidEvent, std::nullopt, StatusCode::kInvalidArgument,
     R::INVALID_REQUEST, X::kBadRequest, kNoRetry,
     "GetMaxBorrowable, GetRiskUnit: group_id not > 0, or not ASSET_USDT / "
     "ASSET_USDC"},
    {M::kQuery, kRiskUnitUnlistedEvent, std::nullopt, StatusCode::kNotFound,
     R::RISK_UNIT_NOT_FOUND, X::kNone, kNoRetry,
     "GetRiskUnit: Binance's ltv-details lists no such risk unit for the "
     "credit account's key"},
    {M::kQuery, kReadUpstreamFailedEvent, std::nullopt,
     StatusCode::kUnavailable, R::UPSTREAM_UNREACHABLE, X::kNone,
     absl::Seconds(1),
     "GetMaxBorrowable, GetRiskUnit: Binance unreachable, a 5XX or an "
     "unreadable answer "
     "(a read executes nothing: retry); Binance's refusals of a read get "
     "their own rows"},
    {M::kQuery, kQueryAuditUnavailableEvent, std::nullopt,
     StatusCode::kUnavailable, R::AUDIT_UNAVAILABLE, X::kNone, kNoRetry,
     "GetBorrow: the audit log cannot be written, so nothing is answered "
     "(fail closed)"},
    {M::kQuery, kBorrowNotFoundEvent, std::nullopt, StatusCode::kNotFound,
     R::BORROW_NOT_FOUND, X::kNone, kNoRetry,
     "GetBorrow: nothing was journaled under this request_id (or it expired "
     "after --journal_retention)"},
};

const ErrorRule* Find(M match, int value) {
  for (const ErrorRule& rule : kTable) {
    if (rule.match == match && rule.value == value) return &rule;
  }
  return nullptr;
}

std::string Situation(const ErrorRule& rule) {
  switch (rule.match) {
    case M::kBinanceCode:
      return absl::StrCat("`", rule.value, "` ", rule.situation);
    default:
      return std::string(rule.situation);
  }
}

}  // namespace

const std::string& ReasonName(ErrorReason reason) {
  return institutional_loan::v1::ErrorReason_Name(reason);
}

std::span<const ErrorRule> ErrorTable() { return kTable; }

const ErrorRule& RuleForTransport(TransportEvent event) {
  const ErrorRule* rule = Find(M::kTransport, event);
  if (rule == nullptr) rule = Find(M::kFallback, event);
  return *rule;
}

const ErrorRule& RuleForLocal(LocalEvent event) {
  return *Find(M::kLocal, event);
}

const ErrorRule& RuleForQuery(QueryEvent event) {
  return *Find(M::kQuery, event);
}

const ErrorRule* RuleForHttpStatus(long http_status) {
  if (const ErrorRule* rule =
          Find(M::kHttpStatus, static_cast<int>(http_status))) {
    return rule;
  }
  return Find(M::kHttpClass, static_cast<int>(http_status / 100));
}

const ErrorRule* RuleForBinanceCode(int64_t code) {
  if (code < -100000 || code > 0) return nullptr;
  return Find(M::kBinanceCode, static_cast<int>(code));
}

std::string RenderErrorTableMarkdown() {
  std::string out =
      "| situation | outcome | gRPC code | reason | extra details | RetryInfo "
      "|\n"
      "|---|---|---|---|---|---|\n";
  for (const ErrorRule& rule : kTable) {
    const char* extra = rule.extra == X::kPreconditionFailure
                            ? "PreconditionFailure"
                        : rule.extra == X::kQuotaFailure ? "QuotaFailure"
                        : rule.extra == X::kBadRequest   ? "BadRequest"
                                                         : "";
    absl::StrAppend(
        &out, "| ", Situation(rule), " | ",
        rule.outcome ? OutcomeName(*rule.outcome) : "—", " | ",
        absl::StatusCodeToString(rule.code), " | `", ReasonName(rule.reason),
        "` | ", extra, " | ",
        rule.retry_after ? absl::FormatDuration(*rule.retry_after) : "",
        " |\n");
  }
  return out;
}

}  // namespace loan_gateway::contract
