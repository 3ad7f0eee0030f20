#include "service/loan_service.h"

#include "absl/time/time.h"
#include "service/grpc_status.h"

namespace loan_gateway {

grpc::ServerUnaryReactor* LoanService::Borrow(
    grpc::CallbackServerContext* context,
    const institutional_loan::v1::BorrowRequest* request,
    institutional_loan::v1::BorrowResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // If the caller cancels or its deadline passes after the request was sent,
  // the exchange with Binance still completes and is logged; Finish is then
  // a no-op for the departed caller.
  pipeline_.Borrow(
      *request, context->peer(), absl::FromChrono(context->deadline()),
      [reactor,
       response](absl::StatusOr<institutional_loan::v1::BorrowResponse> r) {
        if (r.ok()) {
          *response = *std::move(r);
          reactor->Finish(grpc::Status::OK);
        } else {
          reactor->Finish(ToGrpcStatus(r.status()));
        }
      });
  return reactor;
}

}  // namespace loan_gateway
