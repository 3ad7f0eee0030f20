#include "service/loan_service.h"

#include "absl/time/time.h"
#include "api/asset_code.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "log/utf8.h"
#include "proto_time/proto_time.h"
#include "service/call_audit.h"
#include "service/caller_of.h"
#include "service/grpc_status.h"
#include "validate/borrow_request_validator.h"
#include "validate/wire_decoder.h"

namespace loan_gateway {
namespace {

using institutional_loan::v1::GetBorrowResponse;

absl::Status Decode(const grpc::ByteBuffer& bytes,
                    google::protobuf::Message& message) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Dump(&slices).ok()) {
    return absl::InvalidArgumentError("unreadable request");
  }
  std::string wire;
  for (const grpc::Slice& slice : slices) {
    wire.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return DecodeRequest(wire, message);
}

void Encode(const google::protobuf::Message& message, grpc::ByteBuffer* out) {
  grpc::Slice slice(message.SerializeAsString());
  *out = grpc::ByteBuffer(&slice, 1);
}

}  // namespace

grpc::ServerUnaryReactor* LoanService::Borrow(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [reactor, response](
                    absl::StatusOr<institutional_loan::v1::BorrowResponse> r) {
    if (r.ok()) {
      Encode(*r, response);
      reactor->Finish(grpc::Status::OK);
    } else {
      reactor->Finish(ToGrpcStatus(r.status()));
    }
  };
  absl::StatusOr<std::string> caller =
      CallerOf(*context, certificates_required_);
  if (!caller.ok()) {
    pipeline_.Refuse(caller.status(), "unauthenticated:" + context->peer(),
                     finish);
    return reactor;
  }
  // Who may borrow is decided before anything is journaled or signed.
  absl::StatusOr<std::shared_ptr<const CallerRule>> rule =
      policy_.Admit(*caller, "Borrow");
  if (!rule.ok()) {
    pipeline_.Refuse(rule.status(), *caller, finish);
    return reactor;
  }
  institutional_loan::v1::BorrowRequest request;
  if (absl::Status decoded = Decode(*request_bytes, request); !decoded.ok()) {
    pipeline_.Refuse(std::move(decoded), *caller, finish);
    return reactor;
  }
  // If the caller cancels or its deadline passes after the request was sent,
  // the exchange with Binance still completes, is journaled and logged;
  // Finish is then a no-op for the departed caller.
  // The context lives until Finish, so the pipeline may ask it, up to the
  // moment of sending, whether the caller is still there.
  pipeline_.Borrow(
      request, *std::move(caller), absl::FromChrono(context->deadline()),
      finish, [context] { return context->IsCancelled(); }, *std::move(rule));
  return reactor;
}

GetBorrowResponse ToGetBorrowResponse(const JournalRecord& record) {
  GetBorrowResponse out;
  out.set_request_id(record.request_id);
  switch (record.state) {
    case Outcome::kPending:
      out.set_state(institutional_loan::v1::BORROW_STATE_PENDING);
      break;
    case Outcome::kSucceeded:
      out.set_state(institutional_loan::v1::BORROW_STATE_SUCCEEDED);
      break;
    case Outcome::kRejected:
      out.set_state(institutional_loan::v1::BORROW_STATE_REJECTED);
      break;
    case Outcome::kUnknown:
      out.set_state(institutional_loan::v1::BORROW_STATE_UNKNOWN);
      break;
  }
  out.set_resolution(record.reconciled
                         ? institutional_loan::v1::BORROW_RESOLUTION_RECONCILED
                         : institutional_loan::v1::BORROW_RESOLUTION_DIRECT);
  out.set_group_id(record.group_id);
  out.set_asset(api::AssetFromCode(record.asset));
  out.set_amount(record.amount);
  out.set_transaction_id(record.transaction_id);
  if (!record.error.empty()) out.mutable_error()->ParseFromString(record.error);
  out.set_reconciliation_note(record.note);
  *out.mutable_create_time() =
      TimestampFromUnixMillis(absl::ToUnixMillis(record.created));
  *out.mutable_update_time() =
      TimestampFromUnixMillis(absl::ToUnixMillis(record.updated));
  return out;
}

grpc::ServerUnaryReactor* LoanService::GetBorrow(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::string> caller =
      CallerOf(*context, certificates_required_);
  absl::StatusOr<std::shared_ptr<const CallerRule>> rule =
      caller.ok()
          ? policy_.Admit(*caller, "GetBorrow")
          : absl::StatusOr<std::shared_ptr<const CallerRule>>(caller.status());
  institutional_loan::v1::GetBorrowRequest request;
  absl::Status answer = rule.status();
  if (answer.ok()) answer = Decode(*request_bytes, request);
  if (answer.ok()) answer = LookUp(request, *caller, rule->get(), response);
  if (audit_ == nullptr) {
    reactor->Finish(ToGrpcStatus(answer));
    return reactor;
  }
  // The answer's audit record is durable before the caller has it.
  audit::v1::AuditRecord record = CallAnsweredRecord(
      "GetBorrow", caller.ok() ? *caller : "unauthenticated:" + context->peer(),
      rule.ok() ? rule->get() : nullptr, answer);
  record.set_request_id(ValidUtf8(request.request_id(), 128));
  // Fail closed: no record, no answer.
  audit_->Append(std::move(record), [reactor, answer](absl::Status written) {
    if (written.ok()) {
      reactor->Finish(ToGrpcStatus(answer));
      return;
    }
    reactor->Finish(ToGrpcStatus(contract::ErrorForRule(
        contract::RuleForQuery(contract::kQueryAuditUnavailableEvent),
        "the audit log cannot be written, so the gateway answers nothing", {},
        std::nullopt, "", "")));
  });
  return reactor;
}

// A caller sees its own borrows, an auditor (read_all_borrows) everyone's;
// another caller's is NOT_FOUND, as if it did not exist.
absl::Status LoanService::LookUp(
    const institutional_loan::v1::GetBorrowRequest& request,
    const std::string& caller, const CallerRule* rule,
    grpc::ByteBuffer* response) {
  if (!IsUuid(request.request_id())) {
    absl::Status status = contract::ErrorForRule(
        contract::RuleForQuery(contract::kQueryInvalidEvent),
        "request_id must be a UUID", {}, std::nullopt, "", "");
    google::rpc::BadRequest bad;
    auto* v = bad.add_field_violations();
    v->set_field("request_id");
    v->set_description("request_id must be a UUID");
    errors::AttachDetail(status, bad);
    return status;
  }
  // A primary-key read; no fsync, so it is fine on this thread.
  absl::StatusOr<std::optional<JournalRecord>> record =
      journal_.Get(CanonicalRequestId(request.request_id()));
  if (!record.ok()) {
    return contract::ErrorForRule(
        contract::RuleForQuery(contract::kQueryJournalUnavailableEvent),
        record.status().message(), {}, std::nullopt, "", "");
  }
  const bool visible =
      record->has_value() && (rule == nullptr || rule->read_all_borrows ||
                              (*record)->caller == caller);
  if (!visible) {
    return contract::ErrorForRule(
        contract::RuleForQuery(contract::kBorrowNotFoundEvent),
        "no borrow of this caller was journaled under this request_id (or it "
        "expired)",
        {{"request_id", CanonicalRequestId(request.request_id())}},
        std::nullopt, "", "");
  }
  Encode(ToGetBorrowResponse(**record), response);
  return absl::OkStatus();
}

}  // namespace loan_gateway
