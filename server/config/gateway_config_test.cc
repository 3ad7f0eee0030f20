#include "config/gateway_config.h"

#include <algorithm>
#include <map>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(GatewayConfigTest, EnvironmentFillsFlags) {
  absl::FlagSaver restore;
  std::map<std::string, std::string> env = {
      {"LOAN_GATEWAY_API_KEY_FILE", "/run/secrets/api_key"},
      {"LOAN_GATEWAY_PRIVATE_KEY_FILE", "/run/secrets/private_key.pem"},
      {"LOAN_GATEWAY_KEY_TYPE", "rsa"},
      {"LOAN_GATEWAY_RECV_WINDOW_MS", "7000"},
      {"LOAN_GATEWAY_UPSTREAM_BASE_URLS",
       "https://api.binance.com,https://api-gcp.binance.com"},
      {"LOAN_GATEWAY_UPSTREAM_TIMEOUT", "2500ms"},
      {"LOAN_GATEWAY_JOURNAL_PATH", "/var/lib/loan-gateway/journal.db"},
      {"LOAN_GATEWAY_METRICS_LISTEN", "0.0.0.0:9464"},
      {"LOAN_GATEWAY_DRAIN_TIMEOUT", "40s"}};
  ASSERT_TRUE(ApplyEnvironmentToFlags([&](const char* name) -> const char* {
                auto it = env.find(name);
                return it == env.end() ? nullptr : it->second.c_str();
              }).ok());
  absl::StatusOr<GatewayConfig> config = LoadGatewayConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->api_key_file, "/run/secrets/api_key");
  EXPECT_EQ(config->key_type, KeyType::kRsa);
  EXPECT_EQ(config->recv_window_ms, 7000);
  EXPECT_EQ(config->upstream_base_urls.size(), 2u);
  EXPECT_EQ(config->upstream_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(config->journal_path, "/var/lib/loan-gateway/journal.db");
  EXPECT_EQ(config->metrics_listen, "0.0.0.0:9464");
  EXPECT_EQ(config->drain_timeout, absl::Seconds(40));
  const std::string dump = config->RedactedDump();
  EXPECT_TRUE(
      absl::StrContains(dump, "private_key_file=/run/secrets/private_key.pem"));
}

// Every gateway flag can come from the environment (the container sets them
// so).
TEST(GatewayConfigTest, EveryGatewayFlagHasItsEnvironmentVariable) {
  absl::FlagSaver restore;
  std::vector<std::string> asked;
  ASSERT_TRUE(ApplyEnvironmentToFlags([&](const char* name) -> const char* {
                asked.emplace_back(name);
                return nullptr;
              }).ok());
  for (const char* var :
       {"LOAN_GATEWAY_LISTEN", "LOAN_GATEWAY_API_KEY_FILE",
        "LOAN_GATEWAY_PRIVATE_KEY_FILE", "LOAN_GATEWAY_JOURNAL_PATH",
        "LOAN_GATEWAY_METRICS_LISTEN", "LOAN_GATEWAY_RECONCILE_SETTLE_AFTER",
        "LOAN_GATEWAY_UID_WEIGHT_LIMIT"}) {
    EXPECT_NE(std::find(asked.begin(), asked.end(), var), asked.end()) << var;
  }
  EXPECT_EQ(
      std::find(asked.begin(), asked.end(), "LOAN_GATEWAY_PRINT_ERROR_TABLE"),
      asked.end());
}

TEST(GatewayConfigTest, BadEnvironmentValueIsNamed) {
  absl::FlagSaver restore;
  absl::Status s = ApplyEnvironmentToFlags([](const char* name) -> const char* {
    return std::string(name) == "LOAN_GATEWAY_RECV_WINDOW_MS" ? "soon"
                                                              : nullptr;
  });
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "LOAN_GATEWAY_RECV_WINDOW_MS"));
}

TEST(GatewayConfigTest, ValidationCatchesMistakes) {
  GatewayConfig c;
  c.api_key_file = "a";
  c.private_key_file = "b";
  EXPECT_TRUE(ValidateGatewayConfig(c).ok());
  GatewayConfig no_key = c;
  no_key.api_key_file.clear();
  EXPECT_FALSE(ValidateGatewayConfig(no_key).ok());
  GatewayConfig window = c;
  window.recv_window_ms = 60001;
  EXPECT_FALSE(ValidateGatewayConfig(window).ok());
  GatewayConfig url = c;
  url.upstream_base_urls = {"ftp://x"};
  EXPECT_FALSE(ValidateGatewayConfig(url).ok());
  url.upstream_base_urls = {"http://127.0.0.1:8080"};
  EXPECT_FALSE(ValidateGatewayConfig(url).ok()) << "plain HTTP only when asked";
  url.allow_plain_http_upstream = true;
  EXPECT_TRUE(ValidateGatewayConfig(url).ok());
  url.upstream_base_urls = {"https://x/"};
  EXPECT_FALSE(ValidateGatewayConfig(url).ok());
}

}  // namespace
}  // namespace loan_gateway

namespace loan_gateway {
namespace {

TEST(GatewayConfigTest, AMisspeltVariableStopsTheStartNamingTheClosestSetting) {
  absl::Status s = RejectUnknownGatewayVariables(
      {"PATH", "LOAN_GATEWAY_LISTEN", "LOAN_GATEWAY_UPSTREAM_BASEURLS"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "LOAN_GATEWAY_UPSTREAM_BASEURLS"))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(),
                                "did you mean LOAN_GATEWAY_UPSTREAM_BASE_URLS "
                                "(--upstream_base_urls)?"))
      << s;
  EXPECT_TRUE(
      RejectUnknownGatewayVariables(
          {"HOME", "LOAN_GATEWAY_JOURNAL_PATH", "LOAN_GATEWAY_CREATE_JOURNAL"})
          .ok());
}

}  // namespace
}  // namespace loan_gateway
