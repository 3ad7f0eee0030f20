#ifndef LOAN_GATEWAY_SERVER_SIGN_SIGNER_H_
#define LOAN_GATEWAY_SERVER_SIGN_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sign/secret.h"

namespace loan_gateway {

// The three key types Binance accepts for signed endpoints.
enum class KeyType { kHmacSha256, kRsa, kEd25519 };

absl::StatusOr<KeyType> ParseKeyType(
    absl::string_view name);  // hmac|rsa|ed25519
absl::string_view KeyTypeName(KeyType type);

// Signs the exact bytes of a request payload. Thread-safe.
class Signer {
 public:
  virtual ~Signer() = default;
  // Returns the signature as Binance expects it in the `signature` parameter
  // before percent-encoding: lowercase hex (HMAC) or base64 (RSA, Ed25519).
  virtual absl::StatusOr<std::string> Sign(absl::string_view payload) const = 0;
  virtual KeyType type() const = 0;
};

// Makes the signer for `type`. `key` is the HMAC secret, or a PKCS#8 PEM
// private key (RSA >= 2048 bits, or Ed25519). Errors never contain key bytes.
absl::StatusOr<std::unique_ptr<Signer>> MakeSigner(KeyType type, Secret key);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SIGN_SIGNER_H_
