#ifndef LOAN_GATEWAY_CLIENT_GATEWAY_CHANNEL_H_
#define LOAN_GATEWAY_CLIENT_GATEWAY_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace loan_gateway::client {

// How a client reaches the gateway: mutual TLS with the caller's own
// certificate (its identity is what the gateway's policy knows), or, only
// for a gateway started with --insecure_plaintext, plaintext.
struct GatewayConnection {
  std::string target = "127.0.0.1:50051";
  std::string ca_file;    // The CA the gateway's certificate chains to.
  std::string cert_file;  // This caller's certificate (PEM).
  std::string key_file;   // Its private key (PEM).
  bool insecure_plaintext = false;
  // A connection of this channel's own, not shared with other channels to
  // the same target (a load generator spreading calls over connections).
  bool own_connection = false;
};

// A channel to the gateway. An error (naming the file) when a PEM file is
// missing or unreadable, or when TLS is wanted without all three files.
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToGateway(
    const GatewayConnection& connection);

}  // namespace loan_gateway::client

#endif  // LOAN_GATEWAY_CLIENT_GATEWAY_CHANNEL_H_
