// The credit account's key rotated without a restart (issue 14 §6), against
// the real binary and the fake, which knows the old and the new key (as
// Binance does while both are registered).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway_env.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {
namespace {

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

using institutional_loan::v1::BorrowResponse;

// A second credit-account key: its API key and private key, and its public
// key for the fake.
struct NewKey {
  std::string api_key;
  std::string private_pem;
  std::string public_file;
};

// An owner-only file appearing at once (the gateway refuses key files open
// to others, and never sees it half written).
void PutFile(const std::string& path, const std::string& text) {
  const std::string next = path + ".next";
  std::ofstream(next, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::permissions(next, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write);
  std::filesystem::rename(next, path);
}

class KeyRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lg_key_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // An Ed25519 pair made with the openssl command line, as GatewayEnv does.
  NewKey MakeKey() {
    const std::string priv = dir_ + "/new_private_key";
    const std::string pub = dir_ + "/new_public_key.pem";
    const std::string cmd =
        absl::StrCat("openssl genpkey -algorithm ed25519 -out ", priv,
                     " 2>/dev/null && openssl pkey -in ", priv,
                     " -pubout -out ", pub, " 2>/dev/null");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return {"rotated-" + std::to_string(getpid()) + "-api-key-0123456789",
            ReadWholeFile(priv), pub};
  }

  // The fake accepts `key` beside the gateway's first one.
  static EnvOptions Options(const NewKey& key,
                            std::vector<std::string> gateway_args) {
    EnvOptions options;
    options.fake_args = {
        "--key", absl::StrCat("ed25519:", key.api_key, ":", key.public_file),
        "--uid-weight-limit", "1000000000"};
    for (const char* unit : {"3001", "3002", "3003", "3004"}) {
      options.fake_args.push_back("--risk-unit");
      options.fake_args.push_back(absl::StrCat(unit, ":USDT=1000000"));
    }
    options.gateway_args = std::move(gateway_args);
    options.gateway_args.push_back("--uid_weight_limit=1000000000");
    return options;
  }

  // Both of the gateway's key files replaced, each by a rename: what an
  // operator's script does (a Kubernetes Secret swaps both at once).
  static void Rotate(GatewayEnv& env, const NewKey& key) {
    PutFile(env.dir() + "/api_key", key.api_key + "\n");
    PutFile(env.dir() + "/private_key", key.private_pem);
  }

  static std::string TheOnlyKey(const FakeState& state) {
    EXPECT_EQ(state.requests_by_key.size(), 1u);
    return state.requests_by_key.empty() ? ""
                                         : state.requests_by_key.begin()->first;
  }

  static int64_t RequestsWith(GatewayEnv& env, const std::string& api_key) {
    const FakeState state = env.State();
    auto it = state.requests_by_key.find(api_key);
    return it == state.requests_by_key.end() ? 0 : it->second;
  }

  static bool WaitFor(const std::function<bool()>& done,
                      absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return true;
  }

  std::string dir_;
};

// Borrowing on four risk units without a pause, one thread each.
class Load {
 public:
  explicit Load(GatewayEnv& env) {
    for (int64_t group : {3001, 3002, 3003, 3004}) {
      threads_.emplace_back([this, &env, group] {
        while (!stop_) {
          BorrowResponse response;
          grpc::Status status = env.Borrow(MakeBorrow(group, "1"), &response);
          if (status.ok()) {
            ++succeeded_;
            continue;
          }
          std::lock_guard<std::mutex> lock(mu_);
          failures_.push_back(
              absl::StrCat(status.error_code(), " ", status.error_message()));
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int succeeded() const { return succeeded_; }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> succeeded_{0};
  std::mutex mu_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

// Under continuous load the files are replaced: no call fails, the new key
// takes over within a poll, and from then on nothing is signed with the old.
TEST_F(KeyRotationTest, UnderLoadTheNewKeyTakesOverWithoutAFailedCall) {
  const NewKey key = MakeKey();
  GatewayEnv env(Options(key, {"--key_reload_interval=1s"}));
  env.ScanFor(key.api_key);
  env.ScanFor(key.private_pem);
  Load load(env);
  ASSERT_TRUE(
      WaitFor([&] { return load.succeeded() >= 20; }, absl::Seconds(20)));
  const std::string old_key = TheOnlyKey(env.State());
  ASSERT_NE(old_key, key.api_key);

  Rotate(env, key);
  ASSERT_TRUE(WaitFor([&] { return RequestsWith(env, key.api_key) > 0; },
                      absl::Seconds(10)))
      << "the fake never saw the new key";
  // Requests signed with the old key just before the switch may still be
  // on their way; after a moment nothing more arrives with it.
  absl::SleepFor(absl::Milliseconds(500));
  const int64_t old_after_switch = RequestsWith(env, old_key);
  const int64_t new_after_switch = RequestsWith(env, key.api_key);
  absl::SleepFor(absl::Seconds(2));
  load.Stop();

  EXPECT_EQ(load.failures(), std::vector<std::string>{});
  const FakeState fake = env.State();
  EXPECT_EQ(static_cast<int>(fake.borrows.size()), load.succeeded());
  EXPECT_EQ(fake.requests_by_key.at(old_key), old_after_switch)
      << "a request was signed with the old key after the switch";
  EXPECT_GT(fake.requests_by_key.at(key.api_key), new_after_switch + 5);
  std::printf(
      "key rotation under load: %d borrows, %d failed; signed requests: %lld "
      "with the old key, %lld with the new\n",
      load.succeeded(), static_cast<int>(load.failures().size()),
      static_cast<long long>(fake.requests_by_key.at(old_key)),
      static_cast<long long>(fake.requests_by_key.at(key.api_key)));
  const std::string log = env.GatewayLog();
  EXPECT_TRUE(absl::StrContains(log, "\"key_reloaded\"")) << log;
  EXPECT_FALSE(absl::StrContains(log, "key_reload_refused")) << log;
  EXPECT_TRUE(absl::StrContains(
      env.ScrapeMetrics(), "\nloan_gateway_key_reload_failures_total 0\n"));
  // The audit trail says which key was in force from when (by fingerprint).
  const std::string audit = env.audit_log();
  EXPECT_EQ(CountOf(audit, "\"kind\":\"KEY_LOADED\""), 2) << audit;
  EXPECT_EQ(CountOf(audit, "\"kind\":\"KEY_REFUSED\""), 0) << audit;
}

// A broken new private key (garbage, then an RSA key where the key type is
// ed25519) is refused: logged, counted, and the old key keeps signing.
TEST_F(KeyRotationTest, ABrokenNewKeyIsRefusedAndTheOldOneKeepsSigning) {
  GatewayEnv env({.gateway_args = {"--key_reload_interval=1s"}});
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  const std::string old_key = TheOnlyKey(env.State());

  PutFile(env.dir() + "/private_key", "-----BEGIN PRIVATE KEY-----\ngarbage");
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(
            env.ScrapeMetrics(),
            "\nloan_gateway_key_reload_failures_total 1\n");
      },
      absl::Seconds(10)));
  const std::string log = env.GatewayLog();
  EXPECT_TRUE(absl::StrContains(log, "\"key_reload_refused\"")) << log;
  EXPECT_FALSE(absl::StrContains(log, "\"key_reloaded\"")) << log;
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());

  const std::string rsa = dir_ + "/rsa_key";
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt "
                         "rsa_keygen_bits:2048 -out " +
                         rsa + " 2>/dev/null")
                            .c_str()),
            0);
  env.ScanFor(ReadWholeFile(rsa));
  PutFile(env.dir() + "/private_key", ReadWholeFile(rsa));
  ASSERT_TRUE(WaitFor(
      [&] {
        return absl::StrContains(
            env.ScrapeMetrics(),
            "\nloan_gateway_key_reload_failures_total 2\n");
      },
      absl::Seconds(10)));
  EXPECT_TRUE(absl::StrContains(env.GatewayLog(), "needs an Ed25519"));
  // Refused once, not at every poll.
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_TRUE(absl::StrContains(
      env.ScrapeMetrics(), "\nloan_gateway_key_reload_failures_total 2\n"));
  EXPECT_TRUE(env.Borrow(MakeBorrow(1001, "1"), &response).ok());
  EXPECT_EQ(TheOnlyKey(env.State()), old_key);
  EXPECT_EQ(env.State().borrows.size(), 3u);
  EXPECT_EQ(CountOf(env.audit_log(), "\"kind\":\"KEY_REFUSED\""), 2);
}

// SIGHUP reads the files at once, long before the next poll.
TEST_F(KeyRotationTest, SighupReloadsTheKeysAtOnce) {
  const NewKey key = MakeKey();
  GatewayEnv env(Options(key, {"--key_reload_interval=1h"}));
  env.ScanFor(key.api_key);
  env.ScanFor(key.private_pem);
  BorrowResponse response;
  ASSERT_TRUE(env.Borrow(MakeBorrow(3001, "1"), &response).ok());
  Rotate(env, key);
  absl::SleepFor(absl::Milliseconds(1500));
  ASSERT_TRUE(env.Borrow(MakeBorrow(3001, "1"), &response).ok());
  EXPECT_EQ(RequestsWith(env, key.api_key), 0) << "no poll before an hour";

  env.SignalGateway(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] { return absl::StrContains(env.GatewayLog(), "\"key_reloaded\""); },
      absl::Seconds(5)))
      << env.GatewayLog();
  const int64_t before = RequestsWith(env, key.api_key);
  ASSERT_TRUE(env.Borrow(MakeBorrow(3001, "1"), &response).ok());
  EXPECT_GT(RequestsWith(env, key.api_key), before);
}

}  // namespace
}  // namespace loan_gateway::testing
