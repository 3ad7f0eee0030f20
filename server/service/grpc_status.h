#ifndef LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_
#define LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "executor/executor.h"

namespace loan_gateway {

// The one place where an internal absl::Status becomes a grpc::Status: same
// code and message, its payloads as google.rpc.Status details (grpcurl and
// buf curl print them; clients decode them).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Finishes `reactor` with `answer` on `answers` (inline when null, in
// tests). An answer that waited for its audit record is finished there, not
// on the thread that made the record durable: with the trail in the journal
// that is the journal's, which only journals.
void FinishOn(Executor* answers, grpc::ServerUnaryReactor* reactor,
              const absl::Status& answer);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_GRPC_STATUS_H_
