#ifndef LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_

#include "institutional_loan/v1/institutional_loan.grpc.pb.h"
#include "service/borrow_pipeline.h"

namespace loan_gateway {

// The gRPC callback service. It runs the pipeline and turns its result into
// a grpc::Status at this edge; no gRPC thread ever waits for Binance: the
// reactor is finished from the HTTP loop's completion callback.
class LoanService final
    : public institutional_loan::v1::InstitutionalLoan::CallbackService {
 public:
  explicit LoanService(BorrowPipeline& pipeline) : pipeline_(pipeline) {}

  grpc::ServerUnaryReactor* Borrow(
      grpc::CallbackServerContext* context,
      const institutional_loan::v1::BorrowRequest* request,
      institutional_loan::v1::BorrowResponse* response) override;

 private:
  BorrowPipeline& pipeline_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_
