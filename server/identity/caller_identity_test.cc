#include "identity/caller_identity.h"

#include <stdlib.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "test_pki.h"

namespace loan_gateway {
namespace {

using testing::CertSubject;
using testing::ReadFileText;
using testing::TestPki;

class CallerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lg_identity_XXXXXX";
    dir_ = mkdtemp(tmpl);
    pki_ = std::make_unique<TestPki>(dir_, "identity");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::string> IdentityOf(const CertSubject& subject) {
    return IdentityFromCertificatePem(
        ReadFileText(pki_->Issue("leaf", subject).cert));
  }

  std::string dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(CallerIdentityTest, PrefersTheUriSan) {
  EXPECT_EQ(*IdentityOf({.common_name = "cn-name",
                         .subject_alt_names =
                             "DNS:rebalancer.treasury,URI:spiffe://lg/ns/"
                             "treasury/sa/rebalancer"}),
            "spiffe://lg/ns/treasury/sa/rebalancer");
}

TEST_F(CallerIdentityTest, ThenTheFirstDnsSan) {
  EXPECT_EQ(*IdentityOf({.common_name = "cn-name",
                         .subject_alt_names = "DNS:first.svc,DNS:second.svc"}),
            "first.svc");
}

TEST_F(CallerIdentityTest, ThenTheSubjectCommonName) {
  EXPECT_EQ(*IdentityOf({.common_name = "desk-7"}), "desk-7");
  EXPECT_EQ(*IdentityOf(
                {.common_name = "desk-7", .subject_alt_names = "IP:127.0.0.1"}),
            "desk-7");
}

TEST_F(CallerIdentityTest, ACertificateNamingNobodyIsRefused) {
  absl::StatusOr<std::string> none = IdentityOf({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(CallerIdentityPemTest, GarbageIsRefused) {
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(IdentityFromCertificatePem("").ok());
}

}  // namespace
}  // namespace loan_gateway
