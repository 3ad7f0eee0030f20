#include "identity/caller_identity.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "identity/same_caller.h"

namespace loan_gateway {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

std::string Ia5Text(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// The first subjectAltName of `type` (GEN_URI or GEN_DNS), if any.
std::optional<std::string> FirstSan(const GENERAL_NAMES* names, int type) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != type) continue;
    std::string text = Ia5Text(
        type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName);
    if (!text.empty()) return text;
  }
  return std::nullopt;
}

std::optional<std::string> SubjectCommonName(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return std::nullopt;
  const ASN1_STRING* cn =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, cn);
  if (length <= 0) return std::nullopt;
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

absl::StatusOr<std::string> FirstNameOf(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!cert) {
    return absl::UnauthenticatedError("the client certificate is unreadable");
  }
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    if (auto uri = FirstSan(names.get(), GEN_URI)) return *uri;
    if (auto dns = FirstSan(names.get(), GEN_DNS)) return *dns;
  }
  if (auto cn = SubjectCommonName(cert.get()); cn && !cn->empty()) return *cn;
  return absl::UnauthenticatedError(
      "the client certificate names no caller (no URI or DNS SAN, no CN)");
}

}  // namespace

absl::StatusOr<std::string> IdentityFromCertificatePem(absl::string_view pem) {
  absl::StatusOr<std::string> identity = FirstNameOf(pem);
  // That prefix names the callers without a certificate, who are one caller
  // (identity/same_caller.h): a certificate may not join them.
  if (identity.ok() && absl::StartsWith(*identity, kInsecureCallerPrefix)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the client certificate names \"", *identity, "\", but \"",
        kInsecureCallerPrefix, "\" names only callers without a certificate"));
  }
  return identity;
}

}  // namespace loan_gateway
