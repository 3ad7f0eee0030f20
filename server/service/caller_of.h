#ifndef LOAN_GATEWAY_SERVER_SERVICE_CALLER_OF_H_
#define LOAN_GATEWAY_SERVER_SERVICE_CALLER_OF_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/statusor.h"

namespace loan_gateway {

// Who is calling: the identity the client certificate gRPC verified during
// the mutual TLS handshake names (identity/caller_identity.h). With
// --insecure_plaintext (`certificates_required` false) a caller without a
// certificate is named by its address, "insecure:ipv4:127.0.0.1:40522", so
// no log or journal line mistakes it for an authenticated one.
// UNAUTHENTICATED (CALLER_UNAUTHENTICATED) when a certificate is required and
// names nobody.
absl::StatusOr<std::string> CallerOf(const grpc::ServerContextBase& context,
                                     bool certificates_required);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_CALLER_OF_H_
