#include "identity/identity_cache.h"

#include "identity/caller_identity.h"

namespace loan_gateway {

absl::StatusOr<std::string> IdentityCache::IdentityOf(absl::string_view pem) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = identities_.find(pem); it != identities_.end()) {
      return it->second;
    }
  }
  absl::StatusOr<std::string> identity = IdentityFromCertificatePem(pem);
  if (!identity.ok()) return identity;  // Errors are not remembered.
  absl::MutexLock lock(&mu_);
  if (identities_.size() >= capacity_) identities_.clear();
  identities_.emplace(std::string(pem), *identity);
  return identity;
}

size_t IdentityCache::size() const {
  absl::MutexLock lock(&mu_);
  return identities_.size();
}

}  // namespace loan_gateway
