#include "gateway_channel.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace loan_gateway::client {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag,
                                    const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag,
        " is required: the gateway serves mutual TLS (--ca, --cert and --key; "
        "--insecure only for a gateway started with --insecure_plaintext)"));
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() || text.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, " is not a readable PEM file"));
  }
  return text.str();
}

std::shared_ptr<grpc::Channel> Channel(
    const GatewayConnection& connection,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  grpc::ChannelArguments arguments;
  if (connection.own_connection) {
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  }
  return grpc::CreateCustomChannel(connection.target, credentials, arguments);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToGateway(
    const GatewayConnection& connection) {
  if (connection.insecure_plaintext) {
    return Channel(connection, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions tls;
  absl::StatusOr<std::string> ca = ReadPem("ca", connection.ca_file);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> cert = ReadPem("cert", connection.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem("key", connection.key_file);
  if (!key.ok()) return key.status();
  tls.pem_root_certs = *std::move(ca);
  tls.pem_cert_chain = *std::move(cert);
  tls.pem_private_key = *std::move(key);
  return Channel(connection, grpc::SslCredentials(tls));
}

}  // namespace loan_gateway::client
