#ifndef LOAN_GATEWAY_SERVER_IDENTITY_IDENTITY_CACHE_H_
#define LOAN_GATEWAY_SERVER_IDENTITY_IDENTITY_CACHE_H_

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {

// IdentityFromCertificatePem, remembered by the certificate's exact PEM
// text: parsing a certificate on every call cost more CPU than the rest of a
// refused call. The handshake verified the certificate; the same bytes
// always name the same caller. Thread-safe; forgets everything when full.
class IdentityCache {
 public:
  explicit IdentityCache(size_t capacity = 4096) : capacity_(capacity) {}

  absl::StatusOr<std::string> IdentityOf(absl::string_view pem);
  size_t size() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> identities_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_IDENTITY_IDENTITY_CACHE_H_
