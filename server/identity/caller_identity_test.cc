#include "identity/caller_identity.h"

#include <stdlib.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "identity/identity_cache.h"
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

// "insecure:" names the callers without a certificate, one caller for the
// journal's request_ids: a certificate may not pass for one of them.
TEST_F(CallerIdentityTest, ACertificateCannotNameAnUnnamedCaller) {
  for (const CertSubject& subject :
       {CertSubject{.common_name = "insecure:ipv4:127.0.0.1:1"},
        CertSubject{.subject_alt_names = "URI:insecure:ipv4:10.0.0.7:2"}}) {
    absl::StatusOr<std::string> refused = IdentityOf(subject);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated)
        << subject.common_name << subject.subject_alt_names;
  }
  EXPECT_EQ(*IdentityOf({.common_name = "desk-insecure:7"}), "desk-insecure:7");
}

TEST_F(CallerIdentityTest, TheCacheRemembersEachCertificatesCaller) {
  IdentityCache cache(/*capacity=*/2);
  const std::string a = ReadFileText(
      pki_->Issue("a", {.subject_alt_names = "URI:spiffe://lg/a"}).cert);
  const std::string b = ReadFileText(
      pki_->Issue("b", {.subject_alt_names = "URI:spiffe://lg/b"}).cert);
  const std::string c = ReadFileText(
      pki_->Issue("c", {.subject_alt_names = "URI:spiffe://lg/c"}).cert);
  EXPECT_EQ(*cache.IdentityOf(a), "spiffe://lg/a");
  EXPECT_EQ(*cache.IdentityOf(a), "spiffe://lg/a");
  EXPECT_EQ(*cache.IdentityOf(b), "spiffe://lg/b");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(*cache.IdentityOf(c), "spiffe://lg/c") << "full: starts over";
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.IdentityOf("not a certificate").ok());
  EXPECT_EQ(cache.size(), 1u) << "a refusal is not remembered";
}

TEST(CallerIdentityPemTest, GarbageIsRefused) {
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(IdentityFromCertificatePem("").ok());
}

}  // namespace
}  // namespace loan_gateway
