#ifndef LOAN_GATEWAY_TESTS_SUPPORT_TEST_PKI_H_
#define LOAN_GATEWAY_TESTS_SUPPORT_TEST_PKI_H_

#include <string>

namespace loan_gateway::testing {

// A certificate and its key, as PEM files.
struct CertFiles {
  std::string cert;
  std::string key;
};

// What a certificate says of its holder. SANs in OpenSSL's syntax
// ("URI:spiffe://lg/ns/treasury/sa/rebalancer,DNS:rebalancer"), empty for none.
struct CertSubject {
  std::string common_name;
  std::string subject_alt_names;
  // Validity relative to now, in seconds: both negative makes it expired.
  long not_before_s = -3600;
  long not_after_s = 30L * 24 * 3600;
};

// A test certificate authority made at test time with OpenSSL (ECDSA P-256),
// its files in `dir`. Each Issue writes a leaf certificate signed by it.
class TestPki {
 public:
  TestPki(std::string dir, std::string name);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // The CA's certificate (what a peer must chain to).
  const std::string& ca_file() const { return ca_file_; }
  CertFiles Issue(const std::string& name, const CertSubject& subject) const;

 private:
  std::string dir_;
  std::string name_;
  std::string ca_file_;
  void* ca_key_ = nullptr;   // EVP_PKEY*
  void* ca_cert_ = nullptr;  // X509*
};

std::string ReadFileText(const std::string& path);

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_SUPPORT_TEST_PKI_H_
