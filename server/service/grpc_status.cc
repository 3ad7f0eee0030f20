#include "service/grpc_status.h"

#include "errors/error_details.h"
#include "google/rpc/status.pb.h"

namespace loan_gateway {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(std::string(status.message()));
  for (auto& any : errors::AllDetails(status))
    *rpc_status.add_details() = std::move(any);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      rpc_status.SerializeAsString());
}

}  // namespace loan_gateway
