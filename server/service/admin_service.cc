#include "service/admin_service.h"

#include "absl/strings/str_cat.h"
#include "log/json_log.h"
#include "log/utf8.h"
#include "proto_time/proto_time.h"
#include "service/call_audit.h"
#include "service/caller_of.h"
#include "service/grpc_status.h"

namespace loan_gateway {
namespace {

using admin::v1::BorrowingState;

// Free text from an operator, bounded for the halt file and the logs.
constexpr size_t kMaxReason = 500;

std::string CallerName(grpc::CallbackServerContext& context,
                       const absl::StatusOr<std::string>& caller) {
  return caller.ok() ? *caller : "unauthenticated:" + context.peer();
}

}  // namespace

absl::StatusOr<std::string> AdminService::Authorize(
    grpc::CallbackServerContext& context, const std::string& method) const {
  absl::StatusOr<std::string> caller =
      CallerOf(context, deps_.certificates_required);
  if (!caller.ok()) return caller.status();
  if (absl::Status allowed = deps_.policy->Admit(*caller, method).status();
      !allowed.ok()) {
    return allowed;
  }
  return caller;
}

std::string AdminService::AdminRule(const std::string& caller) const {
  return deps_.policy->Current() != nullptr
             ? absl::StrCat("callers[", caller, "].admin")
             : "no policy (insecure sandbox)";
}

BorrowingState AdminService::State() const {
  BorrowingState state;
  if (std::optional<HaltRecord> halt = deps_.halt->Current()) {
    state.set_halted(true);
    state.set_halted_by(halt->by);
    state.set_reason(halt->reason);
    *state.mutable_halt_time() = ToProtoTimestamp(halt->since);
    state.set_persisted(halt->persisted);
  }
  state.set_borrows_in_flight(deps_.requests_in_flight());
  return state;
}

grpc::ServerUnaryReactor* AdminService::Answer(
    grpc::CallbackServerContext* context, audit::v1::AuditRecord record,
    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (deps_.audit == nullptr) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  deps_.audit->Append(std::move(record),
                      [this, reactor, status](const absl::Status&) {
                        FinishOn(deps_.answers, reactor, status);
                      });
  return reactor;
}

// Halting takes effect at once (the safe direction); its record is durable
// before the operator hears that it holds.
grpc::ServerUnaryReactor* AdminService::HaltBorrowing(
    grpc::CallbackServerContext* context,
    const admin::v1::HaltBorrowingRequest* request,
    admin::v1::HaltBorrowingResponse* response) {
  absl::StatusOr<std::string> caller = Authorize(*context, "HaltBorrowing");
  audit::v1::AuditRecord record = CallAnsweredRecord(
      "HaltBorrowing", CallerName(*context, caller), nullptr, caller.status());
  if (!caller.ok()) return Answer(context, std::move(record), caller.status());
  record.set_rule(AdminRule(*caller));
  const std::string reason = ValidUtf8(request->reason(), kMaxReason);
  const HaltRecord halt = deps_.halt->Halt(*caller, reason, deps_.clock->Now());
  *response->mutable_state() = State();
  LogLine("warn", "borrowing_halted")
      .Str("by", halt.by)
      .Str("reason", halt.reason)
      .Str("persisted", halt.persisted ? "true" : "false")
      .Int("requests_in_flight", response->state().borrows_in_flight())
      .Emit();
  record.set_kind(audit::v1::BORROWING_HALTED);
  record.set_detail(
      absl::StrCat("halted by ", halt.by, ": ", halt.reason,
                   halt.persisted ? "" : " (the halt file is unwritable)"));
  return Answer(context, std::move(record), absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::ResumeBorrowing(
    grpc::CallbackServerContext* context,
    const admin::v1::ResumeBorrowingRequest* request,
    admin::v1::ResumeBorrowingResponse* response) {
  absl::StatusOr<std::string> caller = Authorize(*context, "ResumeBorrowing");
  audit::v1::AuditRecord record =
      CallAnsweredRecord("ResumeBorrowing", CallerName(*context, caller),
                         nullptr, caller.status());
  if (!caller.ok()) return Answer(context, std::move(record), caller.status());
  record.set_rule(AdminRule(*caller));
  const std::string reason = ValidUtf8(request->reason(), kMaxReason);
  if (absl::Status resumed = deps_.halt->Resume(); !resumed.ok()) {
    record.set_detail(std::string(resumed.message()));
    return Answer(context, std::move(record), resumed);
  }
  *response->mutable_state() = State();
  LogLine("warn", "borrowing_resumed")
      .Str("by", *caller)
      .Str("reason", reason)
      .Emit();
  record.set_kind(audit::v1::BORROWING_RESUMED);
  record.set_detail(absl::StrCat("resumed by ", *caller, ": ", reason));
  return Answer(context, std::move(record), absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminService::GetBorrowingState(
    grpc::CallbackServerContext* context,
    const admin::v1::GetBorrowingStateRequest* /*request*/,
    admin::v1::GetBorrowingStateResponse* response) {
  absl::StatusOr<std::string> caller = Authorize(*context, "GetBorrowingState");
  audit::v1::AuditRecord record =
      CallAnsweredRecord("GetBorrowingState", CallerName(*context, caller),
                         nullptr, caller.status());
  if (caller.ok()) {
    *response->mutable_state() = State();
    record.set_rule(AdminRule(*caller));
  }
  return Answer(context, std::move(record), caller.status());
}

}  // namespace loan_gateway
