#include "loan_client.h"

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/asset_code.h"

namespace loan_gateway::client {
namespace {

std::optional<absl::Duration> RetryAfter(const ErrorReport& r) {
  if (!r.retry_after_seconds) return std::nullopt;
  return absl::Seconds(*r.retry_after_seconds);
}

std::optional<std::string> Meta(const ErrorReport& r, const std::string& key) {
  auto it = r.metadata.find(key);
  if (it == r.metadata.end()) return std::nullopt;
  return it->second;
}

}  // namespace

// A status the gateway did not make (no ErrorInfo): the call failed in
// transport or at the caller's side. Only codes that cannot follow a request
// reaching the gateway's Borrow mean "not executed".
bool LostInTransport(const grpc::Status& status, const ErrorReport& r) {
  if (!r.reason.empty()) return false;
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return false;
    default:
      return true;
  }
}

BorrowError ClassifyError(const grpc::Status& status) {
  BorrowError e{OtherError{}, DecodeError(status)};
  ErrorReport& r = e.report;
  const std::string& reason = r.reason;
  if (status.error_code() == grpc::StatusCode::UNKNOWN ||
      LostInTransport(status, r)) {
    r.may_have_executed = true;
    e.kind = OutcomeUnknown{Meta(r, "request_id").value_or("")};
    return e;
  }
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      e.kind = InvalidArgument{r.bad_fields};
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      if (r.reason_code == institutional_loan::v1::BORROW_LIMIT_EXCEEDED) {
        e.kind = BorrowLimitExceeded{Meta(r, "max_amount")};
      } else {
        e.kind = FailedPrecondition{reason};
      }
      break;
    case grpc::StatusCode::NOT_FOUND:
      e.kind = RiskUnitNotFound{};
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      e.kind = RateLimited{RetryAfter(r).value_or(absl::Seconds(1))};
      break;
    case grpc::StatusCode::UNAVAILABLE:
      e.kind = Unavailable{reason, RetryAfter(r)};
      break;
    case grpc::StatusCode::ABORTED:
      e.kind =
          PreviousTransactionPending{RetryAfter(r).value_or(absl::Seconds(1))};
      break;
    case grpc::StatusCode::ALREADY_EXISTS:
      e.kind = RequestIdConflict{};
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      e.kind = NotAllowed{reason};
      break;
    case grpc::StatusCode::INTERNAL:
      if (r.reason_code ==
          institutional_loan::v1::UPSTREAM_CREDENTIALS_REJECTED)
        e.kind = CredentialsRejected{};
      break;
    default:
      break;
  }
  return e;
}

int ExitCodeFor(const BorrowErrorKind& kind) {
  struct {
    int operator()(const InvalidArgument&) { return 3; }
    int operator()(const BorrowLimitExceeded&) { return 4; }
    int operator()(const FailedPrecondition&) { return 4; }
    int operator()(const OutcomeUnknown&) { return 5; }
    int operator()(const Unavailable&) { return 6; }
    int operator()(const RateLimited&) { return 7; }
    int operator()(const PreviousTransactionPending&) { return 8; }
    int operator()(const RiskUnitNotFound&) { return 9; }
    int operator()(const CredentialsRejected&) { return 10; }
    int operator()(const RequestIdConflict&) { return 11; }
    int operator()(const NotAllowed&) { return 12; }
    int operator()(const OtherError&) { return 1; }
  } visitor;
  return std::visit(visitor, kind);
}

LoanClient::LoanClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(institutional_loan::v1::InstitutionalLoan::NewStub(
          std::move(channel))) {}

BorrowResult LoanClient::Borrow(int64_t group_id,
                                institutional_loan::v1::Asset asset,
                                const std::string& amount,
                                const BorrowOptions& options) {
  BorrowResult result;
  result.request_id =
      options.request_id.empty() ? NewRequestId() : options.request_id;
  institutional_loan::v1::BorrowRequest request;
  request.set_group_id(group_id);
  request.set_asset(asset);
  request.set_amount(amount);
  request.set_request_id(result.request_id);
  request.set_validate_only(options.validate_only);
  const absl::Time deadline = absl::Now() + options.deadline;
  while (true) {
    ++result.attempts;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    institutional_loan::v1::BorrowResponse response;
    grpc::Status status = stub_->Borrow(&context, request, &response);
    if (status.ok()) {
      result.borrowed = Borrowed{
          response.transaction_id(),
          response.amount(),
          response.request_id(),
          response.group_id(),
          api::AssetCode(response.asset()),
          response.status() == institutional_loan::v1::BORROW_STATUS_VALIDATED};
      result.error.reset();
      return result;
    }
    result.error = ClassifyError(status);
    BorrowError& error = *result.error;
    // Every error names the call's request_id, also when the gateway's
    // answer was lost: it is the key to look the borrow up.
    error.report.metadata.emplace("request_id", result.request_id);
    if (auto* u = std::get_if<OutcomeUnknown>(&error.kind);
        u != nullptr && u->request_id.empty()) {
      u->request_id = result.request_id;
    }
    std::optional<absl::Duration> wait;
    if (auto* u = std::get_if<Unavailable>(&result.error->kind))
      wait = u->retry_after;
    if (auto* r = std::get_if<RateLimited>(&result.error->kind))
      wait = r->retry_after;
    if (auto* p =
            std::get_if<PreviousTransactionPending>(&result.error->kind)) {
      wait = p->retry_after;
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        error.report.reason.empty()) {
      // Lost in transport: the same request_id again is safe (the journal
      // answers a repeat, or executes a borrow it never saw).
      wait = absl::Milliseconds(200) * result.attempts;
    }
    // Only refusals that executed nothing and say when to come back are
    // retried.
    if (!wait || *wait > options.max_retry_wait ||
        result.attempts >= options.max_attempts ||
        absl::Now() + *wait >= deadline) {
      return result;
    }
    absl::SleepFor(*wait);
  }
}

grpc::Status LoanClient::GetBorrow(
    const std::string& request_id,
    institutional_loan::v1::GetBorrowResponse* response,
    absl::Duration deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  institutional_loan::v1::GetBorrowRequest request;
  request.set_request_id(request_id);
  return stub_->GetBorrow(&context, request, response);
}

namespace {

// A read's context: bounded by `deadline`, and waiting for the connection
// (a read is safe to hold until the channel is ready).
void ReadContext(grpc::ClientContext& context, absl::Duration deadline) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  context.set_wait_for_ready(true);
}

}  // namespace

// One attempt: a repay is never retried here, so its caller decides (with
// the same request_id, a repeat is harmless).
grpc::Status LoanClient::Repay(
    const institutional_loan::v1::RepayRequest& request,
    institutional_loan::v1::RepayResponse* response, absl::Duration deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  institutional_loan::v1::RepayRequest with_id = request;
  if (with_id.request_id().empty()) with_id.set_request_id(NewRequestId());
  return stub_->Repay(&context, with_id, response);
}

grpc::Status LoanClient::ListOperations(
    const institutional_loan::v1::ListOperationsRequest& request,
    institutional_loan::v1::ListOperationsResponse* response,
    absl::Duration deadline) {
  grpc::ClientContext context;
  ReadContext(context, deadline);
  return stub_->ListOperations(&context, request, response);
}

grpc::Status LoanClient::GetMaxBorrowable(
    int64_t group_id, institutional_loan::v1::Asset asset,
    institutional_loan::v1::GetMaxBorrowableResponse* response,
    absl::Duration deadline) {
  grpc::ClientContext context;
  ReadContext(context, deadline);
  institutional_loan::v1::GetMaxBorrowableRequest request;
  request.set_group_id(group_id);
  request.set_asset(asset);
  return stub_->GetMaxBorrowable(&context, request, response);
}

grpc::Status LoanClient::GetRiskUnit(
    int64_t group_id, institutional_loan::v1::GetRiskUnitResponse* response,
    absl::Duration deadline) {
  grpc::ClientContext context;
  ReadContext(context, deadline);
  institutional_loan::v1::GetRiskUnitRequest request;
  request.set_group_id(group_id);
  return stub_->GetRiskUnit(&context, request, response);
}

}  // namespace loan_gateway::client
