#include "sign/key_ring.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "log/json_log.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ReadTestFile;

std::string TestData(const std::string& name) {
  return ReadTestFile(std::string(SIGN_TESTDATA_DIR) + "/" + name);
}

// Log lines from the first call on go to this stream, which lives as long
// as the process, as the logger may write to it until then.
std::ostringstream& CapturedLog() {
  static std::ostringstream* const out = [] {
    auto* stream = new std::ostringstream;
    InitJsonLogForTesting(*stream);
    return stream;
  }();
  return *out;
}

// What was logged since the last call.
std::string TakeLog() {
  std::string log = CapturedLog().str();
  CapturedLog().str("");
  return log;
}

std::string HmacHex(const std::string& secret, const std::string& payload) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &size);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), size));
}

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat(
               "key_ring_test_", getpid(), "_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    TakeLog();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ApiKeyFile() const { return (dir_ / "api_key").string(); }
  std::string PrivateKeyFile() const { return (dir_ / "private_key").string(); }

  // Replaces `path` at once (a rename), owner-only as the gateway demands.
  void Replace(const std::string& path, const std::string& text) {
    const std::string next = path + ".next";
    std::ofstream(next, std::ios::binary | std::ios::trunc) << text;
    std::filesystem::permissions(next, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
    std::filesystem::rename(next, path);
  }
  void WritePair(const std::string& api_key, const std::string& private_key) {
    Replace(ApiKeyFile(), api_key + "\n");
    Replace(PrivateKeyFile(), private_key);
  }

  std::unique_ptr<KeyRing> OpenRing(KeyType type,
                                    absl::Duration interval = absl::Hours(1)) {
    absl::StatusOr<std::unique_ptr<KeyRing>> ring =
        KeyRing::Open(ApiKeyFile(), PrivateKeyFile(), type, interval, &watch_);
    EXPECT_TRUE(ring.ok()) << ring.status();
    return ring.ok() ? *std::move(ring) : nullptr;
  }

  WatchThread watch_{"lg-test-watch"};
  std::filesystem::path dir_;
};

TEST_F(KeyRingTest, LoadsThePairAndNamesItByAFingerprintOnly) {
  WritePair("api-key-one", TestData("ed25519_test_key.pem"));
  std::unique_ptr<KeyRing> ring = OpenRing(KeyType::kEd25519);
  ASSERT_NE(ring, nullptr);
  std::shared_ptr<const SigningKey> key = ring->Current();
  EXPECT_EQ(key->api_key.Reveal(), "api-key-one");
  EXPECT_EQ(key->signer->type(), KeyType::kEd25519);
  EXPECT_EQ(*key->signer->Sign(TestData("payload.txt")),
            TestData("ed25519_expected_signature.txt"));
  // printf %s api-key-one | sha256sum | cut -c1-8
  EXPECT_EQ(key->fingerprint, "79f3d57c");
  const std::string log = TakeLog();
  EXPECT_TRUE(absl::StrContains(log, "\"key_loaded\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, key->fingerprint)) << log;
  EXPECT_FALSE(absl::StrContains(log, "api-key-one")) << log;
}

TEST_F(KeyRingTest, TheFirstLoadMustSucceed) {
  EXPECT_EQ(KeyRing::Open(ApiKeyFile(), PrivateKeyFile(), KeyType::kEd25519,
                          absl::Seconds(1), &watch_)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  WritePair("api-key-one", TestData("rsa_test_key.pem"));
  absl::StatusOr<std::unique_ptr<KeyRing>> wrong_type =
      KeyRing::Open(ApiKeyFile(), PrivateKeyFile(), KeyType::kEd25519,
                    absl::Seconds(1), &watch_);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_TRUE(absl::StartsWith(wrong_type.status().message(), "signer: "))
      << wrong_type.status();
  // The permission check of every secret file applies to both.
  std::filesystem::permissions(ApiKeyFile(),
                               std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  EXPECT_EQ(KeyRing::Open(ApiKeyFile(), PrivateKeyFile(), KeyType::kRsa,
                          absl::Seconds(1), &watch_)
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

// A line break inside the API key would end the X-MBX-APIKEY header early.
TEST_F(KeyRingTest, AnApiKeyThatIsNotAHeaderSafeTokenIsRefused) {
  WritePair("api-key\nX-Injected: 1", "hmac-secret");
  absl::StatusOr<std::unique_ptr<KeyRing>> ring =
      KeyRing::Open(ApiKeyFile(), PrivateKeyFile(), KeyType::kHmacSha256,
                    absl::Seconds(1), &watch_);
  ASSERT_FALSE(ring.ok());
  EXPECT_TRUE(absl::StartsWith(ring.status().message(), "api_key_file: "))
      << ring.status();
  EXPECT_FALSE(absl::StrContains(ring.status().message(), "Injected"));
}

TEST_F(KeyRingTest, AGoodNewPairReplacesTheOldOne) {
  WritePair("api-key-one", "secret-one");
  std::unique_ptr<KeyRing> ring = OpenRing(KeyType::kHmacSha256);
  ASSERT_NE(ring, nullptr);
  WritePair("api-key-two", "secret-two");
  TakeLog();
  ASSERT_TRUE(ring->Reload().ok());
  std::shared_ptr<const SigningKey> key = ring->Current();
  EXPECT_EQ(key->api_key.Reveal(), "api-key-two");
  EXPECT_EQ(*key->signer->Sign("x=1"), HmacHex("secret-two", "x=1"));
  EXPECT_EQ(ring->reload_failures(), 0);
  const std::string log = TakeLog();
  EXPECT_TRUE(absl::StrContains(log, "\"key_reloaded\"")) << log;
  EXPECT_TRUE(absl::StrContains(log, key->fingerprint)) << log;
  EXPECT_FALSE(absl::StrContains(log, "api-key-two")) << log;
  EXPECT_FALSE(absl::StrContains(log, "secret-two")) << log;
}

// Each refusal is logged and counted; the pair in force stays and signs.
TEST_F(KeyRingTest, ABadNewFileIsRefusedAndTheOldKeyStays) {
  WritePair("api-key-one", TestData("ed25519_test_key.pem"));
  std::unique_ptr<KeyRing> ring = OpenRing(KeyType::kEd25519);
  ASSERT_NE(ring, nullptr);
  const std::string garbage = "-----BEGIN PRIVATE KEY-----\nnot base64 at all";
  int64_t refused = 0;
  for (const auto& [api_key, private_key] :
       {std::pair<std::string, std::string>{"api-key-two",
                                            TestData("rsa_test_key.pem")},
        {"api-key-two", garbage},
        {"api key two", TestData("ed25519_test_key.pem")}}) {
    WritePair(api_key, private_key);
    TakeLog();
    absl::Status reloaded = ring->Reload();
    EXPECT_FALSE(reloaded.ok());
    EXPECT_EQ(ring->reload_failures(), ++refused);
    const std::string log = TakeLog();
    EXPECT_TRUE(absl::StrContains(log, "\"key_reload_refused\"")) << log;
    EXPECT_FALSE(absl::StrContains(log, "api-key-two")) << log;
    EXPECT_FALSE(absl::StrContains(log, "not base64")) << log;
  }
  Replace(ApiKeyFile(), "api-key-two");
  std::filesystem::remove(PrivateKeyFile());
  EXPECT_EQ(ring->Reload().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ring->reload_failures(), ++refused);
  std::shared_ptr<const SigningKey> key = ring->Current();
  EXPECT_EQ(key->api_key.Reveal(), "api-key-one");
  EXPECT_EQ(*key->signer->Sign(TestData("payload.txt")),
            TestData("ed25519_expected_signature.txt"));
}

// A request being signed keeps the pair it took, whatever a reload does.
TEST_F(KeyRingTest, ASnapshotOutlivesAReload) {
  WritePair("api-key-one", TestData("ed25519_test_key.pem"));
  std::unique_ptr<KeyRing> ring = OpenRing(KeyType::kEd25519);
  ASSERT_NE(ring, nullptr);
  std::shared_ptr<const SigningKey> old = ring->Current();
  WritePair("api-key-two", "hmac-looking-secret");
  ASSERT_FALSE(ring->Reload().ok());  // Not an Ed25519 key.
  ASSERT_EQ(std::system(("openssl genpkey -algorithm ed25519 -out " +
                         PrivateKeyFile() + " 2>/dev/null")
                            .c_str()),
            0);
  std::filesystem::permissions(PrivateKeyFile(),
                               std::filesystem::perms::owner_read);
  ASSERT_TRUE(ring->Reload().ok());
  EXPECT_NE(ring->Current(), old);
  EXPECT_EQ(ring->Current()->api_key.Reveal(), "api-key-two");
  EXPECT_EQ(old->api_key.Reveal(), "api-key-one");
  EXPECT_EQ(*old->signer->Sign(TestData("payload.txt")),
            TestData("ed25519_expected_signature.txt"));
}

TEST_F(KeyRingTest, TheWatcherLoadsAChangedPairAndRefusesABadOneOnce) {
  WritePair("api-key-one", "secret-one");
  std::unique_ptr<KeyRing> ring =
      OpenRing(KeyType::kHmacSha256, absl::Milliseconds(20));
  ASSERT_NE(ring, nullptr);
  WritePair("api-key-two", "secret-two");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (ring->Current()->api_key.Reveal() != "api-key-two" &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(ring->Current()->api_key.Reveal(), "api-key-two");
  EXPECT_EQ(*ring->Current()->signer->Sign("x=1"),
            HmacHex("secret-two", "x=1"));

  // A PEM file where an HMAC secret belongs: refused once, not on every poll.
  Replace(PrivateKeyFile(), TestData("ed25519_test_key.pem"));
  while (ring->reload_failures() == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(ring->reload_failures(), 1);
  EXPECT_EQ(ring->Current()->api_key.Reveal(), "api-key-two");
}

// Two renames a moment apart (the API key first) are read as one change: no
// snapshot ever pairs a new API key with the old secret.
TEST_F(KeyRingTest, APairReplacedByTwoRenamesIsNeverSeenHalfDone) {
  WritePair("api-key-0", "secret-0");
  std::unique_ptr<KeyRing> ring =
      OpenRing(KeyType::kHmacSha256, absl::Milliseconds(5));
  ASSERT_NE(ring, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> mismatched{0};
  std::thread reader([&] {
    while (!stop) {
      std::shared_ptr<const SigningKey> key = ring->Current();
      const std::string n(key->api_key.Reveal().substr(8));
      if (*key->signer->Sign("x=1") != HmacHex("secret-" + n, "x=1")) {
        ++mismatched;
      }
    }
  });
  for (int i = 1; i <= 4; ++i) {
    Replace(ApiKeyFile(), absl::StrCat("api-key-", i, "\n"));
    absl::SleepFor(absl::Milliseconds(20));
    Replace(PrivateKeyFile(), absl::StrCat("secret-", i));
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (ring->Current()->api_key.Reveal() != absl::StrCat("api-key-", i) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  stop = true;
  reader.join();
  EXPECT_EQ(ring->Current()->api_key.Reveal(), "api-key-4");
  EXPECT_EQ(mismatched, 0);
  EXPECT_EQ(ring->reload_failures(), 0);
}

}  // namespace
}  // namespace loan_gateway
