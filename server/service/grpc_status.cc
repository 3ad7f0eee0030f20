#include "service/grpc_status.h"

#include "errors/error_details.h"
#include "google/rpc/status.pb.h"

namespace loan_gateway {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const google::rpc::Status rpc_status = errors::ToRpcStatus(status);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      rpc_status.SerializeAsString());
}

void FinishOn(Executor* answers, grpc::ServerUnaryReactor* reactor,
              const absl::Status& answer) {
  if (answers == nullptr) {
    reactor->Finish(ToGrpcStatus(answer));
    return;
  }
  answers->Post([reactor, answer] { reactor->Finish(ToGrpcStatus(answer)); });
}

}  // namespace loan_gateway
