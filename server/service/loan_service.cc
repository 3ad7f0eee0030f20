#include "service/loan_service.h"

#include "absl/time/time.h"
#include "api/asset_code.h"
#include "binance/money_operation.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "log/utf8.h"
#include "proto_time/proto_time.h"
#include "service/call_audit.h"
#include "service/caller_of.h"
#include "service/grpc_status.h"
#include "service/page_token.h"
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

institutional_loan::v1::OperationKind ToProtoKind(OperationKind kind) {
  return kind == OperationKind::kRepay
             ? institutional_loan::v1::OPERATION_KIND_REPAY
             : institutional_loan::v1::OPERATION_KIND_BORROW;
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
  StartOperation(*context, *request_bytes, OperationKind::kBorrow,
                 [reactor, response](
                     absl::StatusOr<institutional_loan::v1::BorrowResponse> r) {
                   if (r.ok()) {
                     Encode(*r, response);
                     reactor->Finish(grpc::Status::OK);
                   } else {
                     reactor->Finish(ToGrpcStatus(r.status()));
                   }
                 });
  return reactor;
}

// A repay's request has a borrow's fields (and numbers), so it runs through
// the same stages; its answer says what was asked and what was repaid.
grpc::ServerUnaryReactor* LoanService::Repay(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto requested = std::make_shared<std::string>();
  StartOperation(
      *context, *request_bytes, OperationKind::kRepay,
      [reactor, response,
       requested](absl::StatusOr<institutional_loan::v1::BorrowResponse> r) {
        if (!r.ok()) {
          reactor->Finish(ToGrpcStatus(r.status()));
          return;
        }
        institutional_loan::v1::RepayResponse out;
        out.set_transaction_id(r->transaction_id());
        out.set_requested_amount(*requested);
        if (r->status() != institutional_loan::v1::BORROW_STATUS_VALIDATED) {
          out.set_repaid_amount(r->amount());
        }
        out.set_status(r->status());
        out.set_request_id(r->request_id());
        out.set_group_id(r->group_id());
        out.set_asset(r->asset());
        Encode(out, response);
        reactor->Finish(grpc::Status::OK);
      },
      requested.get());
  return reactor;
}

void LoanService::StartOperation(grpc::CallbackServerContext& context,
                                 const grpc::ByteBuffer& request_bytes,
                                 OperationKind kind,
                                 OperationPipeline::Done finish,
                                 std::string* requested_amount) {
  const std::string method(binance::MoneyOperationOf(kind).name);
  absl::StatusOr<std::string> caller =
      CallerOf(context, certificates_required_);
  if (!caller.ok()) {
    pipeline_.Refuse(caller.status(), "unauthenticated:" + context.peer(),
                     finish);
    return;
  }
  // Who may borrow or repay is decided before anything is journaled or
  // signed.
  absl::StatusOr<std::shared_ptr<const CallerRule>> rule =
      policy_.Admit(*caller, method);
  if (!rule.ok()) {
    pipeline_.Refuse(rule.status(), *caller, finish);
    return;
  }
  institutional_loan::v1::BorrowRequest request;
  if (absl::Status decoded = Decode(request_bytes, request); !decoded.ok()) {
    pipeline_.Refuse(std::move(decoded), *caller, finish);
    return;
  }
  if (requested_amount != nullptr) *requested_amount = request.amount();
  // If the caller cancels or its deadline passes after the request was sent,
  // the exchange with Binance still completes, is journaled and logged;
  // Finish is then a no-op for the departed caller.
  // The context lives until Finish, so the pipeline may ask it, up to the
  // moment of sending, whether the caller is still there.
  auto* ctx = &context;
  auto gone = [ctx] { return ctx->IsCancelled(); };
  const absl::Time deadline = absl::FromChrono(context.deadline());
  if (kind == OperationKind::kRepay) {
    pipeline_.Repay(request, *std::move(caller), deadline, std::move(finish),
                    gone, *std::move(rule));
  } else {
    pipeline_.Borrow(request, *std::move(caller), deadline, std::move(finish),
                     gone, *std::move(rule));
  }
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
  out.set_kind(ToProtoKind(record.kind));
  out.set_result_amount(record.result_amount);
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
  Admitted admitted = AdmitCall(*context, "GetBorrow");
  const CallerRule* rule = admitted.rule.ok() ? admitted.rule->get() : nullptr;
  institutional_loan::v1::GetBorrowRequest request;
  absl::Status answer = admitted.rule.status();
  if (answer.ok()) answer = Decode(*request_bytes, request);
  if (answer.ok()) answer = LookUp(request, admitted.caller, rule, response);
  audit::v1::AuditRecord record =
      CallAnsweredRecord("GetBorrow", admitted.caller, rule, answer);
  record.set_request_id(ValidUtf8(request.request_id(), 128));
  FinishAudited(reactor, std::move(record), answer);
  return reactor;
}

void LoanService::FinishAudited(grpc::ServerUnaryReactor* reactor,
                                audit::v1::AuditRecord record,
                                const absl::Status& answer) {
  if (audit_ == nullptr) {
    reactor->Finish(ToGrpcStatus(answer));
    return;
  }
  audit_->Append(std::move(record), [this, reactor,
                                     answer](const absl::Status& written) {
    FinishOn(
        answers_, reactor,
        written.ok()
            ? answer
            : contract::ErrorForRule(
                  contract::RuleForQuery(contract::kQueryAuditUnavailableEvent),
                  "the audit log cannot be written, so the gateway "
                  "answers nothing",
                  {}, std::nullopt, "", ""));
  });
}

grpc::ServerUnaryReactor* LoanService::ListOperations(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Admitted admitted = AdmitCall(*context, "ListOperations");
  const CallerRule* rule = admitted.rule.ok() ? admitted.rule->get() : nullptr;
  institutional_loan::v1::ListOperationsRequest request;
  absl::Status answer = admitted.rule.status();
  if (answer.ok()) answer = Decode(*request_bytes, request);
  int shown = 0;
  if (answer.ok()) {
    answer = List(request, admitted.caller, rule, response, &shown);
  }
  audit::v1::AuditRecord record =
      CallAnsweredRecord("ListOperations", admitted.caller, rule, answer);
  if (answer.ok()) record.set_detail(absl::StrCat(shown, " operations shown"));
  FinishAudited(reactor, std::move(record), answer);
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

namespace {

// A bad field of a read request: INVALID_ARGUMENT with BadRequest naming it.
absl::Status InvalidField(contract::QueryEvent event, absl::string_view field,
                          absl::string_view why) {
  absl::Status status = contract::ErrorForRule(contract::RuleForQuery(event),
                                               absl::StrCat(field, ": ", why),
                                               {}, std::nullopt, "", "");
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field(std::string(field));
  v->set_description(std::string(why));
  errors::AttachDetail(status, bad);
  return status;
}

absl::Status InvalidRead(absl::string_view field, absl::string_view why) {
  return InvalidField(contract::kReadInvalidEvent, field, why);
}

absl::Status InvalidList(absl::string_view field, absl::string_view why) {
  return InvalidField(contract::kListInvalidEvent, field, why);
}

std::optional<Outcome> OutcomeOfState(institutional_loan::v1::BorrowState s) {
  switch (s) {
    case institutional_loan::v1::BORROW_STATE_PENDING:
      return Outcome::kPending;
    case institutional_loan::v1::BORROW_STATE_SUCCEEDED:
      return Outcome::kSucceeded;
    case institutional_loan::v1::BORROW_STATE_REJECTED:
      return Outcome::kRejected;
    case institutional_loan::v1::BORROW_STATE_UNKNOWN:
      return Outcome::kUnknown;
    default:
      return std::nullopt;
  }
}

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

// The request's filters as a journal query, or why they are invalid.
absl::StatusOr<RecordQuery> QueryFor(
    const institutional_loan::v1::ListOperationsRequest& request) {
  RecordQuery query;
  if (request.page_size() < 0) return InvalidList("page_size", "negative");
  // AIP-158: too large a page is coerced, not refused.
  query.limit = request.page_size() == 0
                    ? kDefaultPageSize
                    : std::min(request.page_size(), kMaxPageSize);
  if (request.group_id() < 0) return InvalidList("group_id", "negative");
  if (request.group_id() > 0) query.group_id = request.group_id();
  if (request.asset() != institutional_loan::v1::ASSET_UNSPECIFIED) {
    const std::string code = api::AssetCode(request.asset());
    if (code.empty()) return InvalidList("asset", "unknown asset");
    query.asset = code;
  }
  if (request.state() != institutional_loan::v1::BORROW_STATE_UNSPECIFIED) {
    query.state = OutcomeOfState(request.state());
    if (!query.state) return InvalidList("state", "unknown state");
  }
  if (!request.caller().empty()) query.caller = request.caller();
  if (request.has_start_time()) {
    query.created_from = FromProtoTimestamp(request.start_time());
  }
  if (request.has_end_time()) {
    query.created_before = FromProtoTimestamp(request.end_time());
  }
  if (!request.page_token().empty()) {
    absl::StatusOr<PageToken> token = DecodePageToken(request.page_token());
    if (!token.ok()) return InvalidList("page_token", token.status().message());
    if (token->filters != ListFilterHash(request)) {
      return InvalidList("page_token",
                         "made for other filters; start again without it");
    }
    query.after = RecordQuery::Position{token->created, token->request_id};
  }
  return query;
}

}  // namespace

absl::Status LoanService::List(
    const institutional_loan::v1::ListOperationsRequest& request,
    const std::string& caller, const CallerRule* rule,
    grpc::ByteBuffer* response, int* shown) {
  absl::StatusOr<RecordQuery> query = QueryFor(request);
  if (!query.ok()) return query.status();
  institutional_loan::v1::ListOperationsResponse page;
  if (rule != nullptr && !rule->read_all_borrows) {
    // Another caller's operations do not exist for this one.
    if (query->caller.has_value() && *query->caller != caller) {
      Encode(page, response);
      return absl::OkStatus();
    }
    query->caller = caller;
  }
  const int limit = query->limit;
  ++query->limit;  // One more says whether a next page exists.
  absl::StatusOr<std::vector<JournalRecord>> records = journal_.List(*query);
  if (!records.ok()) {
    return contract::ErrorForRule(
        contract::RuleForQuery(contract::kQueryJournalUnavailableEvent),
        records.status().message(), {}, std::nullopt, "", "");
  }
  const bool more = static_cast<int>(records->size()) > limit;
  if (more) records->resize(limit);
  for (const JournalRecord& record : *records) {
    institutional_loan::v1::Operation* op = page.add_operations();
    op->set_kind(ToProtoKind(record.kind));
    op->set_caller(record.caller);
    *op->mutable_record() = ToGetBorrowResponse(record);
  }
  if (more) {
    page.set_next_page_token(
        EncodePageToken({.created = records->back().created,
                         .request_id = records->back().request_id,
                         .filters = ListFilterHash(request)}));
  }
  *shown = page.operations_size();
  Encode(page, response);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* LoanService::GetMaxBorrowable(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Admitted admitted = AdmitCall(*context, "GetMaxBorrowable");
  const CallerRule* rule = admitted.rule.ok() ? admitted.rule->get() : nullptr;
  institutional_loan::v1::GetMaxBorrowableRequest request;
  absl::Status answer = admitted.rule.status();
  if (answer.ok()) answer = Decode(*request_bytes, request);
  const std::string asset = api::AssetCode(request.asset());
  if (answer.ok() && request.group_id() <= 0) {
    answer = InvalidRead("group_id", "must be > 0");
  }
  if (answer.ok() && asset.empty()) {
    answer = InvalidRead("asset", "must be ASSET_USDT or ASSET_USDC");
  }
  if (answer.ok() && rule != nullptr) {
    answer = AccessPolicy::CheckScope(*rule, request.group_id(), asset);
  }
  if (answer.ok() && reader_ == nullptr) {
    answer = absl::UnimplementedError("no Binance reader in this process");
  }
  audit::v1::AuditRecord record =
      CallAnsweredRecord("GetMaxBorrowable", admitted.caller, rule, answer);
  record.set_group_id(request.group_id());
  record.set_asset(asset);
  if (!answer.ok()) {
    FinishAudited(reactor, std::move(record), answer);
    return reactor;
  }
  reader_->GetMaxBorrowable(
      request.group_id(), asset,
      [this, reactor, response, request,
       record = std::move(record)](absl::StatusOr<MaxBorrowable> read) mutable {
        if (!read.ok()) {
          audit::v1::AuditRecord failed = CallAnsweredRecord(
              "GetMaxBorrowable", record.caller(), nullptr, read.status());
          failed.set_rule(record.rule());
          failed.set_group_id(record.group_id());
          failed.set_asset(record.asset());
          FinishAudited(reactor, std::move(failed), read.status());
          return;
        }
        institutional_loan::v1::GetMaxBorrowableResponse out;
        out.set_group_id(request.group_id());
        out.set_asset(request.asset());
        out.set_max_borrowable_amount(read->amount.value_or(""));
        *out.mutable_read_time() = ToProtoTimestamp(read->read_at);
        Encode(out, response);
        record.set_detail(absl::StrCat("maxBorrowableAmount ",
                                       read->amount.value_or("(unknown)")));
        FinishAudited(reactor, std::move(record), absl::OkStatus());
      });
  return reactor;
}

LoanService::Admitted LoanService::AdmitCall(
    grpc::CallbackServerContext& context, const std::string& method) const {
  absl::StatusOr<std::string> caller =
      CallerOf(context, certificates_required_);
  if (!caller.ok()) {
    return {"unauthenticated:" + context.peer(), caller.status()};
  }
  return {*caller, policy_.Admit(*caller, method)};
}

grpc::ServerUnaryReactor* LoanService::GetRiskUnit(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Admitted admitted = AdmitCall(*context, "GetRiskUnit");
  institutional_loan::v1::GetRiskUnitRequest request;
  absl::Status answer = admitted.rule.status();
  if (answer.ok()) answer = Decode(*request_bytes, request);
  if (answer.ok() && request.group_id() <= 0) {
    answer = InvalidRead("group_id", "must be > 0");
  }
  if (answer.ok() && *admitted.rule != nullptr) {
    answer = AccessPolicy::CheckRiskUnit(**admitted.rule, request.group_id());
  }
  if (answer.ok() && reader_ == nullptr) {
    answer = absl::UnimplementedError("no Binance reader in this process");
  }
  const CallerRule* rule = admitted.rule.ok() ? admitted.rule->get() : nullptr;
  audit::v1::AuditRecord record =
      CallAnsweredRecord("GetRiskUnit", admitted.caller, rule, answer);
  record.set_group_id(request.group_id());
  if (!answer.ok()) {
    FinishAudited(reactor, std::move(record), answer);
    return reactor;
  }
  reader_->GetRiskUnit(
      request.group_id(),
      [this, reactor, response, record = std::move(record)](
          absl::StatusOr<binance::RiskUnitDetails> unit) mutable {
        if (!unit.ok()) {
          audit::v1::AuditRecord failed = CallAnsweredRecord(
              "GetRiskUnit", record.caller(), nullptr, unit.status());
          failed.set_rule(record.rule());
          failed.set_group_id(record.group_id());
          FinishAudited(reactor, std::move(failed), unit.status());
          return;
        }
        institutional_loan::v1::GetRiskUnitResponse out;
        out.set_group_id(unit->group_id);
        out.set_ltv(unit->ltv);
        out.set_total_net_equity(unit->total_net_equity);
        out.set_total_maintenance_margin(unit->total_maintenance_margin);
        out.set_total_liability(unit->total_liability);
        out.set_parent_account_frozen_amount(
            unit->parent_account_frozen_amount);
        out.set_max_transfer_out_amount(unit->max_transfer_out_amount);
        out.set_max_allowed_borrow_limit(unit->max_allowed_borrow_limit);
        for (const binance::Liability& l : unit->liabilities) {
          institutional_loan::v1::Liability* liability = out.add_liabilities();
          liability->set_asset_name(l.asset_name);
          liability->set_principal(l.principal);
          liability->set_interest(l.interest);
        }
        if (unit->update_time_ms > 0) {
          *out.mutable_update_time() =
              TimestampFromUnixMillis(unit->update_time_ms);
        }
        *out.mutable_read_time() = ToProtoTimestamp(absl::Now());
        Encode(out, response);
        record.set_detail(absl::StrCat("ltv ", unit->ltv));
        FinishAudited(reactor, std::move(record), absl::OkStatus());
      });
  return reactor;
}

}  // namespace loan_gateway
