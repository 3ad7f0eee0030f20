#include "service/caller_of.h"

#include "contract/rule_error.h"
#include "identity/identity_cache.h"
#include "identity/same_caller.h"

namespace loan_gateway {
namespace {

// Every call presents its connection's certificate again.
IdentityCache& Identities() {
  static auto* identities = new IdentityCache();
  return *identities;
}

}  // namespace

absl::StatusOr<std::string> CallerOf(const grpc::ServerContextBase& context,
                                     bool certificates_required) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> pem;
  if (auth != nullptr) pem = auth->FindPropertyValues("x509_pem_cert");
  if (pem.empty() && !certificates_required) {
    return std::string(kInsecureCallerPrefix) + context.peer();
  }
  absl::StatusOr<std::string> identity =
      pem.empty() ? absl::UnauthenticatedError("no client certificate")
                  : Identities().IdentityOf(absl::string_view(
                        pem.front().data(), pem.front().size()));
  if (identity.ok()) return identity;
  return contract::RuleError(
      contract::RuleForLocal(contract::kUnauthenticatedEvent),
      identity.status().message());
}

}  // namespace loan_gateway
