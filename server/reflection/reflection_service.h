#ifndef LOAN_GATEWAY_SERVER_REFLECTION_REFLECTION_SERVICE_H_
#define LOAN_GATEWAY_SERVER_REFLECTION_REFLECTION_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace loan_gateway {

// gRPC server reflection from the generated descriptor pool, for
// grpc.reflection.v1 and v1alpha (newer grpcurl asks v1 first). Each
// FileDescriptorResponse holds the requested file first, then only those of
// its dependencies not yet sent on this stream: Debian's grpc++_reflection
// (1.51) repeats every file sent before, first (grpc/grpc#18009), so a client
// that takes the first file as the answer (grpcurl 1.8, grpcui) cannot
// resolve error details such as google.rpc.ErrorInfo.
class ReflectionV1Service final
    : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  explicit ReflectionV1Service(std::vector<std::string> services)
      : services_(std::move(services)) {}
  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  const std::vector<std::string> services_;
};

class ReflectionV1AlphaService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  explicit ReflectionV1AlphaService(std::vector<std::string> services)
      : services_(std::move(services)) {}
  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  const std::vector<std::string> services_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_REFLECTION_REFLECTION_SERVICE_H_
