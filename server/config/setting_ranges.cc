#include "config/setting_ranges.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "proto_time/proto_time.h"
#include "sign/signer.h"

namespace loan_gateway {
namespace {

absl::Status OutOfRange(const SettingField& s, const std::string& min,
                        const std::string& max, const std::string& value) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--", s.flag(), " must be in [", min, ", ", max, "], got ", value));
}

absl::Status CheckDuration(const GatewayConfig& c, const SettingField& s) {
  absl::Duration min;
  absl::Duration max;
  if (!absl::ParseDuration(s.setting->min(), &min) ||
      !absl::ParseDuration(s.setting->max(), &max)) {
    return absl::InternalError(absl::StrCat("bad range for --", s.flag()));
  }
  absl::Duration value;
  (void)absl::ParseDuration(SettingText(c, s), &value);
  if (value >= min && value <= max) return absl::OkStatus();
  return OutOfRange(s, absl::FormatDuration(min), absl::FormatDuration(max),
                    absl::FormatDuration(value));
}

absl::Status CheckInteger(const GatewayConfig& c, const SettingField& s) {
  int64_t min = 0;
  int64_t max = 0;
  int64_t value = 0;
  if (!absl::SimpleAtoi(s.setting->min(), &min) ||
      !absl::SimpleAtoi(s.setting->max(), &max) ||
      !absl::SimpleAtoi(SettingText(c, s), &value)) {
    return absl::InternalError(absl::StrCat("bad range for --", s.flag()));
  }
  if (value >= min && value <= max) return absl::OkStatus();
  return OutOfRange(s, absl::StrCat(min), absl::StrCat(max),
                    absl::StrCat(value));
}

absl::Status ValidateUpstreamUrls(const config::v1::UpstreamConfig& u) {
  for (const std::string& url : u.base_urls()) {
    const bool plain_ok =
        u.allow_plain_http() && absl::StartsWith(url, "http://");
    if (!absl::StartsWith(url, "https://") && !plain_ok) {
      return absl::InvalidArgumentError(
          "upstream base URLs must start with https:// (the API key and signed "
          "requests must not travel in clear; --allow_plain_http_upstream for "
          "a sandbox)");
    }
    if (absl::EndsWith(url, "/")) {
      return absl::InvalidArgumentError(
          "upstream base URLs must not end with '/'");
    }
  }
  return absl::OkStatus();
}

// TLS is the default: without the three files the gateway would have no way
// to tell callers apart, which only a sandbox may accept, by saying so.
absl::Status ValidateAccess(const config::v1::AccessConfig& a) {
  if (a.insecure_plaintext()) return absl::OkStatus();
  const std::pair<absl::string_view, const std::string*> files[] = {
      {"tls_cert_file", &a.tls_cert_file()},
      {"tls_key_file", &a.tls_key_file()},
      {"tls_client_ca_file", &a.client_ca_file()}};
  for (const auto& [flag, path] : files) {
    if (path->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag,
          " is required: the gRPC port serves mutual TLS only (callers are "
          "identified by their client certificates); --insecure_plaintext "
          "for a sandbox"));
    }
  }
  if (absl::Status cert =
          ValidateCertificateFile("tls_cert_file", a.tls_cert_file());
      !cert.ok()) {
    return cert;
  }
  return ValidateCertificateFile("tls_client_ca_file", a.client_ca_file());
}

// A password in --journal_url would be in every config dump and process
// listing; it comes from --journal_password_file. The URL itself is never
// repeated in the error (it may hold that password).
absl::Status ValidateJournalUrl(const config::v1::JournalConfig& journal) {
  const std::string& url = journal.url();
  if (url.empty()) {
    if (!journal.password_file().empty()) {
      return absl::InvalidArgumentError(
          "--journal_password_file is for --journal_url's database; the "
          "SQLite journal has no password");
    }
    return absl::OkStatus();
  }
  if (!absl::StartsWith(url, "postgres://") &&
      !absl::StartsWith(url, "postgresql://")) {
    return absl::InvalidArgumentError(
        "--journal_url must be a postgres:// or postgresql:// URL");
  }
  const absl::string_view rest =
      absl::string_view(url).substr(url.find("//") + 2);
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  const size_t at = authority.rfind('@');
  const bool in_userinfo = at != absl::string_view::npos &&
                           absl::StrContains(authority.substr(0, at), ":");
  if (in_userinfo || absl::StrContains(url, "password=")) {
    return absl::InvalidArgumentError(
        "--journal_url must not hold the database password: put it in a file "
        "(a mounted Secret) named by --journal_password_file");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSettingRanges(const GatewayConfig& c) {
  for (const SettingField& s : SettingFields()) {
    if (s.setting->min().empty()) continue;
    absl::Status in_range =
        s.IsDuration() ? CheckDuration(c, s) : CheckInteger(c, s);
    if (!in_range.ok()) return in_range;
  }
  return absl::OkStatus();
}

absl::Status ValidateSettingRelations(const GatewayConfig& c) {
  if (absl::StatusOr<KeyType> key = ParseKeyType(c.credentials().key_type());
      !key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--key_type: ", key.status().message()));
  }
  if (absl::Status urls = ValidateUpstreamUrls(c.upstream()); !urls.ok()) {
    return urls;
  }
  // A relative path would give a fresh, empty journal whenever the gateway
  // is started from another directory.
  if (!absl::StartsWith(c.journal().path(), "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--journal_path must be absolute, got \"", c.journal().path(), "\""));
  }
  if (absl::Status url = ValidateJournalUrl(c.journal()); !url.ok()) {
    return url;
  }
  if (!c.upstream().ca_file().empty()) {
    if (absl::Status ca =
            ValidateCertificateFile("upstream_ca_file", c.upstream().ca_file());
        !ca.ok()) {
      return ca;
    }
  }
  if (absl::Status access = ValidateAccess(c.access()); !access.ok()) {
    return access;
  }
  // The trail is in one place: the journal's table or a file.
  if (c.access().audit_in_journal() && !c.access().audit_log().empty()) {
    return absl::InvalidArgumentError(
        "--audit_in_journal keeps the audit trail in the journal: it does not "
        "go with --audit_log");
  }
  // A borrow in flight when SIGTERM arrives must be able to finish (and be
  // journaled and answered) within the drain.
  const absl::Duration timeout = FromProtoDuration(c.upstream().timeout());
  const absl::Duration drain = FromProtoDuration(c.server().drain_timeout());
  if (timeout + absl::Milliseconds(500) > drain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--upstream_timeout (", absl::FormatDuration(timeout),
        ") must be at least 500ms shorter than --drain_timeout (",
        absl::FormatDuration(drain),
        "): a borrow in flight at SIGTERM must finish within the drain"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCertificateFile(absl::string_view flag,
                                     const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, " cannot be read"));
  }
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, " holds no PEM certificate"));
  }
  X509_free(cert);
  return absl::OkStatus();
}

}  // namespace loan_gateway
