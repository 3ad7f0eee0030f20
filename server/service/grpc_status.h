#ifndef LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_
#define LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace loan_gateway {

// The one place where an internal absl::Status becomes a grpc::Status: same
// code and message, its payloads as google.rpc.Status details (grpcurl and
// buf curl print them; clients decode them).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_
