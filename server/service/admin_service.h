#ifndef LOAN_GATEWAY_SERVER_SERVICE_ADMIN_SERVICE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_ADMIN_SERVICE_H_

#include <functional>

#include "audit/audit_log.h"
#include "clock/clock.h"
#include "executor/executor.h"
#include "halt/borrowing_halt.h"
#include "loan_gateway/admin/v1/gateway_admin.grpc.pb.h"
#include "policy/policy_store.h"

namespace loan_gateway {

// GatewayAdmin: the kill switch, for the identities the access policy marks
// as `admin` (everyone only in the insecure sandbox without a policy).
class AdminService final : public admin::v1::GatewayAdmin::CallbackService {
 public:
  struct Deps {
    BorrowingHalt* halt = nullptr;
    const PolicyStore* policy = nullptr;
    const Clock* clock = nullptr;
    bool certificates_required = true;  // False: --insecure_plaintext.
    // Requests at Binance not answered yet (they finish while halted).
    std::function<int()> requests_in_flight;
    AuditLog* audit = nullptr;  // Every call recorded before it is answered.
    // Where an answer that waited for its record is finished (the call
    // executor; inline when null, in tests): see FinishOn.
    Executor* answers = nullptr;
  };
  explicit AdminService(Deps deps) : deps_(std::move(deps)) {}

  grpc::ServerUnaryReactor* HaltBorrowing(
      grpc::CallbackServerContext* context,
      const admin::v1::HaltBorrowingRequest* request,
      admin::v1::HaltBorrowingResponse* response) override;
  grpc::ServerUnaryReactor* ResumeBorrowing(
      grpc::CallbackServerContext* context,
      const admin::v1::ResumeBorrowingRequest* request,
      admin::v1::ResumeBorrowingResponse* response) override;
  grpc::ServerUnaryReactor* GetBorrowingState(
      grpc::CallbackServerContext* context,
      const admin::v1::GetBorrowingStateRequest* request,
      admin::v1::GetBorrowingStateResponse* response) override;

 private:
  // The caller's identity if the policy lets it call `method`.
  absl::StatusOr<std::string> Authorize(grpc::CallbackServerContext& context,
                                        const std::string& method) const;
  admin::v1::BorrowingState State() const;
  // The rule that let an admin call in.
  std::string AdminRule(const std::string& caller) const;
  // Finishes the call once `record` is durable in the audit trail.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                   audit::v1::AuditRecord record,
                                   const absl::Status& status);

  const Deps deps_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_ADMIN_SERVICE_H_
