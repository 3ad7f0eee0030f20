#include "sign/signer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ReadTestFile;

std::string TestData(const std::string& name) {
  return ReadTestFile(std::string(SIGN_TESTDATA_DIR) + "/" + name);
}

// Binance's published HMAC example (API docs, "SIGNED endpoint examples").
TEST(HmacSignerTest, MatchesBinancePublicVector) {
  auto signer = MakeSigner(
      KeyType::kHmacSha256,
      Secret(
          "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto signature = (*signer)->Sign(
      "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&"
      "recvWindow=5000&timestamp=1499827319559");
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*signature,
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
}

// Fixed vectors computed once with the openssl command line
// (testdata/README.md).
TEST(PrivateKeySignerTest, Ed25519MatchesOpensslCommandLine) {
  auto signer =
      MakeSigner(KeyType::kEd25519, Secret(TestData("ed25519_test_key.pem")));
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto signature = (*signer)->Sign(TestData("payload.txt"));
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*signature, TestData("ed25519_expected_signature.txt"));
}

TEST(PrivateKeySignerTest, RsaMatchesOpensslCommandLine) {
  auto signer = MakeSigner(KeyType::kRsa, Secret(TestData("rsa_test_key.pem")));
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto signature = (*signer)->Sign(TestData("payload.txt"));
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*signature, TestData("rsa_expected_signature.txt"));
}

class FreshKeyTest : public testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("signer_test_", getpid(), "_", KeyTypeName(GetParam()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Makes a key pair with the openssl command line; returns the private PEM.
  std::string GenerateKey() {
    const std::string priv = (dir_ / "key.pem").string();
    const std::string pub = (dir_ / "pub.pem").string();
    const std::string algorithm = GetParam() == KeyType::kRsa
                                      ? "RSA -pkeyopt rsa_keygen_bits:2048"
                                      : "ed25519";
    const std::string cmd =
        absl::StrCat("openssl genpkey -algorithm ", algorithm, " -out ", priv,
                     " 2>/dev/null && openssl pkey -in ", priv,
                     " -pubout -out ", pub, " 2>/dev/null");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return ReadTestFile(priv);
  }

  bool VerifyWithPublicKey(const std::string& payload, const std::string& b64) {
    std::string raw;
    if (!absl::Base64Unescape(b64, &raw)) return false;
    FILE* f = std::fopen((dir_ / "pub.pem").c_str(), "r");
    EVP_PKEY* key = PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const EVP_MD* md = GetParam() == KeyType::kRsa ? EVP_sha256() : nullptr;
    bool ok =
        EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
        EVP_DigestVerify(
            ctx, reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
            reinterpret_cast<const unsigned char*>(payload.data()),
            payload.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
  }

  std::filesystem::path dir_;
};

TEST_P(FreshKeyTest, SignatureVerifiesWithThePublicKeyAndNotForOtherBytes) {
  auto signer = MakeSigner(GetParam(), Secret(GenerateKey()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  const std::string payload =
      "groupId=7&assetName=USDC&amount=0.00000001&recvWindow=5000&timestamp=1";
  auto signature = (*signer)->Sign(payload);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifyWithPublicKey(payload, *signature));
  EXPECT_FALSE(VerifyWithPublicKey(payload + "0", *signature));
}

INSTANTIATE_TEST_SUITE_P(RsaAndEd25519, FreshKeyTest,
                         testing::Values(KeyType::kRsa, KeyType::kEd25519));

TEST(MakeSignerTest, RejectsMismatchedOrBrokenKeysWithoutEchoingThem) {
  const std::string rsa_pem = TestData("rsa_test_key.pem");
  auto wrong = MakeSigner(KeyType::kEd25519, Secret(rsa_pem));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message().find("BEGIN"), std::string::npos);
  auto broken = MakeSigner(KeyType::kRsa, Secret("not a key at all"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().find("not a key at all"),
            std::string::npos);
  EXPECT_FALSE(MakeSigner(KeyType::kHmacSha256, Secret("")).ok());
}

TEST(SecretTest, NeverPrintsItsBytes) {
  Secret secret("super-secret-value");
  std::ostringstream os;
  os << secret;
  EXPECT_EQ(os.str(), "[redacted]");
  Secret moved = std::move(secret);
  EXPECT_EQ(moved.Reveal(), "super-secret-value");
  EXPECT_TRUE(
      secret.empty());  // NOLINT(bugprone-use-after-move): wiped on move.
}

TEST(SecretTest, AFileOpenToOthersIsRefusedNamingItsMode) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("secret_mode_test_", getpid()))
                               .string();
  std::ofstream(path) << "key-bytes\n";
  for (const auto& [mode, accepted] :
       {std::pair{0600, true}, std::pair{0640, true}, std::pair{0440, true},
        std::pair{0400, true}, std::pair{0644, false}, std::pair{0604, false},
        std::pair{0602, false}, std::pair{0444, false}}) {
    std::filesystem::permissions(path,
                                 static_cast<std::filesystem::perms>(mode));
    absl::StatusOr<Secret> secret = Secret::FromFile(path);
    EXPECT_EQ(secret.ok(), accepted) << std::oct << mode;
    if (accepted) {
      EXPECT_EQ(secret->Reveal(), "key-bytes");
    } else {
      EXPECT_EQ(secret.status().code(), absl::StatusCode::kPermissionDenied);
      EXPECT_NE(secret.status().message().find(path), std::string::npos);
      EXPECT_NE(
          secret.status().message().find(absl::StrFormat("(mode %04o)", mode)),
          std::string::npos)
          << secret.status();
      EXPECT_EQ(secret.status().message().find("key-bytes"), std::string::npos);
    }
  }
  std::filesystem::remove(path);
}

TEST(MakeSignerTest, AnHmacKeyTypeWithAPemFileIsRefused) {
  absl::StatusOr<std::unique_ptr<Signer>> signer = MakeSigner(
      KeyType::kHmacSha256,
      Secret("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END "
             "PRIVATE KEY-----"));
  ASSERT_FALSE(signer.ok());
  EXPECT_NE(signer.status().message().find("--key_type rsa or ed25519"),
            std::string::npos);
  EXPECT_EQ(signer.status().message().find("MC4CAQ"), std::string::npos);
}

TEST(SecretTest, AnUnreadableFileSaysPermissionDenied) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("secret_perm_test_", getpid()))
                               .string();
  std::ofstream(path) << "x";
  // Root reads anything: then a child that is uid 65534 tries a file only
  // root may read; otherwise a file nobody may read.
  const bool root = geteuid() == 0;
  std::filesystem::permissions(path, root ? std::filesystem::perms::owner_read
                                          : std::filesystem::perms::none);
  const pid_t child = fork();
  if (child == 0) {
    if (root && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    _exit(Secret::FromFile(path).status().code() ==
                  absl::StatusCode::kPermissionDenied
              ? 0
              : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::filesystem::remove(path);
  EXPECT_EQ(Secret::FromFile(path).status().code(),
            absl::StatusCode::kNotFound);
}

// The README says what is true: an RSA key may be PKCS#1 as well as PKCS#8.
TEST(MakeSignerTest, AnRsaKeyInPkcs1PemIsAccepted) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("pkcs1_test_", getpid()))
                               .string();
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt "
                         "rsa_keygen_bits:2048 2>/dev/null | openssl rsa "
                         "-traditional -out " +
                         path + " 2>/dev/null")
                            .c_str()),
            0);
  absl::StatusOr<Secret> key = Secret::FromFile(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(absl::StrContains(key->Reveal(), "BEGIN RSA PRIVATE KEY"));
  EXPECT_TRUE(MakeSigner(KeyType::kRsa, *std::move(key)).ok());
}

TEST(KeyTypeTest, ParsesTheThreeNames) {
  EXPECT_EQ(*ParseKeyType("hmac"), KeyType::kHmacSha256);
  EXPECT_EQ(*ParseKeyType("rsa"), KeyType::kRsa);
  EXPECT_EQ(*ParseKeyType("ed25519"), KeyType::kEd25519);
  EXPECT_FALSE(ParseKeyType("dsa").ok());
}

}  // namespace
}  // namespace loan_gateway
