#ifndef LOAN_GATEWAY_CLIENT_LOAN_CLIENT_H_
#define LOAN_GATEWAY_CLIENT_LOAN_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "api/request_id.h"
#include "error_report.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"

namespace loan_gateway::client {

// A borrow Binance executed.
struct Borrowed {
  std::string transaction_id;
  std::string amount;
  std::string request_id;
  int64_t group_id = 0;
  std::string asset;  // "USDT", "USDC"
  // validate_only: every check passed, nothing was sent (no transaction id).
  bool validated = false;
};

// Every error class of the gateway's contract, as a type to branch on.
struct InvalidArgument {  // A field is wrong; fix the request.
  std::vector<std::pair<std::string, std::string>> fields;
};
struct BorrowLimitExceeded {  // -27009: more than the risk unit may borrow.
  std::optional<std::string> max_amount;
};
struct FailedPrecondition {  // Margin, LTV, liquidation, other Binance
                             // refusals.
  std::string reason;
};
struct RiskUnitNotFound {};
// May have executed: never resend as a new borrow; look it up, or repeat it
// with the same request_id (the gateway's journal makes that harmless). Also
// what a call that failed without the gateway's ErrorInfo becomes (connection
// lost, gateway killed, deadline passed): only the journal knows then.
struct OutcomeUnknown {
  std::string request_id;
};
struct RateLimited {  // Binance or the local weight budget / risk-unit queue.
  absl::Duration retry_after;
};
// Nothing executed (banned, unreachable, clock, journal, draining): the
// gateway said so with its ErrorInfo. A transport-level UNAVAILABLE without
// it is OutcomeUnknown.
struct Unavailable {
  std::string reason;
  std::optional<absl::Duration> retry_after;
};
struct PreviousTransactionPending {
  absl::Duration retry_after;
};
struct RequestIdConflict {};    // The id was used for another borrow.
struct CredentialsRejected {};  // The gateway's key: an operator must act.
// The gateway's access policy refused this caller (PERMISSION_DENIED) or
// could not tell who it is (UNAUTHENTICATED): nothing was journaled or sent.
struct NotAllowed {
  std::string reason;  // CALLER_NOT_ALLOWED, RISK_UNIT_NOT_ALLOWED, ...
};
struct OtherError {};

using BorrowErrorKind =
    std::variant<InvalidArgument, BorrowLimitExceeded, FailedPrecondition,
                 RiskUnitNotFound, OutcomeUnknown, RateLimited, Unavailable,
                 PreviousTransactionPending, RequestIdConflict,
                 CredentialsRejected, NotAllowed, OtherError>;

struct BorrowError {
  BorrowErrorKind kind;
  ErrorReport report;  // Everything the status said.
};

// Decodes a gateway error into its type.
BorrowError ClassifyError(const grpc::Status& status);

// A process exit code per error class (loanctl): 3 invalid argument,
// 4 failed precondition / limit, 5 outcome unknown, 6 unavailable,
// 7 rate limited, 8 aborted / pending, 9 not found, 10 internal, 11 conflict,
// 12 not allowed by the gateway's access policy.
int ExitCodeFor(const BorrowErrorKind& kind);

struct BorrowOptions {
  std::string request_id;  // Generated (UUID v7) when empty.
  absl::Duration deadline = absl::Seconds(30);
  int max_attempts = 3;
  absl::Duration max_retry_wait = absl::Seconds(5);
  // A dry run (AIP-163): what would happen, with nothing journaled or sent.
  bool validate_only = false;
};

struct BorrowResult {
  std::string request_id;  // Always set: use it with GetBorrow.
  std::optional<Borrowed> borrowed;
  std::optional<BorrowError> error;
  int attempts = 0;
};

// A typed client for InstitutionalLoan. Every Borrow carries a request_id
// (generated when none is given) and every result and error reports it.
// Borrow retries only where it is safe, always with the same request_id so
// the gateway's journal makes any repeat harmless: a refusal that executed
// nothing and says when to retry (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED
// with RetryInfo), and a call lost in transport (UNAVAILABLE without
// ErrorInfo: the repeat gets the journaled answer or executes the borrow the
// first time). A gateway's UNKNOWN answer is never retried.
class LoanClient {
 public:
  explicit LoanClient(std::shared_ptr<grpc::Channel> channel);

  BorrowResult Borrow(int64_t group_id, institutional_loan::v1::Asset asset,
                      const std::string& amount,
                      const BorrowOptions& options = {});

  grpc::Status GetBorrow(const std::string& request_id,
                         institutional_loan::v1::GetBorrowResponse* response,
                         absl::Duration deadline = absl::Seconds(10));

  // Repays up to `amount` (same request_id, retry and error rules as
  // Borrow): the response says what was asked and what Binance repaid.
  grpc::Status Repay(const institutional_loan::v1::RepayRequest& request,
                     institutional_loan::v1::RepayResponse* response,
                     absl::Duration deadline = absl::Seconds(30));

  // One page of the journal's operations (see ListOperationsRequest).
  grpc::Status ListOperations(
      const institutional_loan::v1::ListOperationsRequest& request,
      institutional_loan::v1::ListOperationsResponse* response,
      absl::Duration deadline = absl::Seconds(10));

  // Binance's figure for what the risk unit may still borrow of `asset`.
  grpc::Status GetMaxBorrowable(
      int64_t group_id, institutional_loan::v1::Asset asset,
      institutional_loan::v1::GetMaxBorrowableResponse* response,
      absl::Duration deadline = absl::Seconds(10));

  // The risk unit's LTV, equity and liabilities at Binance.
  grpc::Status GetRiskUnit(
      int64_t group_id, institutional_loan::v1::GetRiskUnitResponse* response,
      absl::Duration deadline = absl::Seconds(10));

 private:
  std::unique_ptr<institutional_loan::v1::InstitutionalLoan::Stub> stub_;
};

// A fresh request_id (a version-4 UUID from OpenSSL's CSPRNG).
using api::NewRequestId;

}  // namespace loan_gateway::client

#endif  // LOAN_GATEWAY_CLIENT_LOAN_CLIENT_H_
