#ifndef LOAN_GATEWAY_SERVER_IDENTITY_CALLER_IDENTITY_H_
#define LOAN_GATEWAY_SERVER_IDENTITY_CALLER_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway {

// The caller a client certificate names, as the journal, logs, metrics,
// policy and audit trail know it: its first URI SAN (SPIFFE style,
// "spiffe://org/ns/treasury/sa/rebalancer"), else its first DNS SAN, else its
// subject CN. `pem` is the leaf certificate gRPC verified during the
// handshake. An error when it names nobody (no SAN, no CN) or is unreadable.
absl::StatusOr<std::string> IdentityFromCertificatePem(absl::string_view pem);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_IDENTITY_CALLER_IDENTITY_H_
