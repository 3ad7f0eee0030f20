#ifndef LOAN_GATEWAY_SERVER_TRANSPORT_MUTUAL_TLS_H_
#define LOAN_GATEWAY_SERVER_TRANSPORT_MUTUAL_TLS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/time/time.h"

namespace loan_gateway {

// The gRPC port's TLS: the gateway's certificate chain and key, and the CA
// bundle every client certificate must chain to.
struct MutualTlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // How often the three files are read again: a rotated certificate (or CA
  // bundle) is used for every handshake after that, without a restart;
  // connections already open keep theirs.
  absl::Duration reload_interval = absl::Seconds(10);
};

// Server credentials that refuse the handshake of a client without a
// certificate, or with one that does not verify against the CA bundle
// (expired, another CA). The files are watched by gRPC's own
// FileWatcherCertificateProvider.
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(
    const MutualTlsFiles& files);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_TRANSPORT_MUTUAL_TLS_H_
