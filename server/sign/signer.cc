#include "sign/signer.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace loan_gateway {
namespace {

class HmacSha256Signer : public Signer {
 public:
  explicit HmacSha256Signer(Secret secret) : secret_(std::move(secret)) {}

  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    const absl::string_view key = secret_.Reveal();
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(payload.data()),
             payload.size(), mac, &mac_len) == nullptr) {
      return absl::InternalError("HMAC-SHA256 failed");
    }
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
  }
  KeyType type() const override { return KeyType::kHmacSha256; }

 private:
  Secret secret_;
};

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// RSA (PKCS#1 v1.5 with SHA-256) and Ed25519 (pure, RFC 8032) both sign
// through EVP_DigestSign; only the digest differs (none for Ed25519).
class PrivateKeySigner : public Signer {
 public:
  PrivateKeySigner(KeyType type, PkeyPtr key)
      : type_(type), key_(std::move(key)) {}

  absl::StatusOr<std::string> Sign(absl::string_view payload) const override {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const EVP_MD* md = type_ == KeyType::kRsa ? EVP_sha256() : nullptr;
    if (!ctx ||
        EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) {
      return absl::InternalError("signature init failed");
    }
    size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(payload.data());
    if (EVP_DigestSign(ctx.get(), nullptr, &len, data, payload.size()) != 1) {
      return absl::InternalError("signature sizing failed");
    }
    std::string signature(len, '\0');
    if (EVP_DigestSign(ctx.get(),
                       reinterpret_cast<unsigned char*>(signature.data()), &len,
                       data, payload.size()) != 1) {
      return absl::InternalError("signing failed");
    }
    signature.resize(len);
    return absl::Base64Escape(signature);
  }
  KeyType type() const override { return type_; }

 private:
  KeyType type_;
  PkeyPtr key_;
};

absl::StatusOr<PkeyPtr> LoadPrivateKey(const Secret& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.Reveal().data(),
                      static_cast<int>(pem.Reveal().size())),
      BIO_free);
  if (!bio) return absl::InternalError("cannot allocate a BIO");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return absl::InvalidArgumentError(
        "the private key file is not a PEM private key");
  return key;
}

}  // namespace

absl::StatusOr<KeyType> ParseKeyType(absl::string_view name) {
  if (name == "hmac") return KeyType::kHmacSha256;
  if (name == "rsa") return KeyType::kRsa;
  if (name == "ed25519") return KeyType::kEd25519;
  return absl::InvalidArgumentError("key type must be hmac, rsa or ed25519");
}

absl::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kHmacSha256:
      return "hmac";
    case KeyType::kRsa:
      return "rsa";
    case KeyType::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<Signer>> MakeSigner(KeyType type, Secret key) {
  if (key.empty()) return absl::InvalidArgumentError("empty signing key");
  if (type == KeyType::kHmacSha256) {
    // A PEM file here is a private key given the wrong --key_type: signing
    // with its text as an HMAC secret would fail only at Binance (-1022).
    if (absl::StrContains(key.Reveal(), "-----BEGIN")) {
      return absl::InvalidArgumentError(
          "key type hmac needs the HMAC secret, but the file holds a PEM key: "
          "use --key_type rsa or ed25519 for it");
    }
    return std::make_unique<HmacSha256Signer>(std::move(key));
  }
  absl::StatusOr<PkeyPtr> pkey = LoadPrivateKey(key);
  if (!pkey.ok()) return pkey.status();
  const int id = EVP_PKEY_get_base_id(pkey->get());
  if (type == KeyType::kRsa) {
    if (id != EVP_PKEY_RSA)
      return absl::InvalidArgumentError(
          "key type rsa needs an RSA private key");
    if (EVP_PKEY_get_bits(pkey->get()) < 2048) {
      return absl::InvalidArgumentError(
          "RSA keys must have at least 2048 bits");
    }
  } else if (id != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(
        "key type ed25519 needs an Ed25519 private key");
  }
  return std::make_unique<PrivateKeySigner>(type, *std::move(pkey));
}

}  // namespace loan_gateway
