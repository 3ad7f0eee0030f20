#include "config/gateway_config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "config/command_line.h"
#include "config/setting_ranges.h"
#include "gtest/gtest.h"
#include "proto_time/proto_time.h"
#include "test_pki.h"

namespace loan_gateway {
namespace {

using Env = std::map<std::string, std::string>;

std::function<const char*(const char*)> Getenv(const Env& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

GatewayConfig WithKeys() {
  GatewayConfig c = DefaultGatewayConfig();
  c.mutable_credentials()->set_api_key_file("a");
  c.mutable_credentials()->set_private_key_file("b");
  c.mutable_access()->set_insecure_plaintext(true);  // AccessIsMutualTls.
  return c;
}

std::string TempFile(const std::string& name, const std::string& text) {
  const std::string path =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/",
                   getpid(), "_", name);
  std::ofstream(path) << text;
  return path;
}

TEST(GatewayConfigTest, EnvironmentFillsSettings) {
  Env env = {{"LOAN_GATEWAY_API_KEY_FILE", "/run/secrets/api_key"},
             {"LOAN_GATEWAY_PRIVATE_KEY_FILE", "/run/secrets/private_key.pem"},
             {"LOAN_GATEWAY_KEY_TYPE", "rsa"},
             {"LOAN_GATEWAY_RECV_WINDOW_MS", "7000"},
             {"LOAN_GATEWAY_UPSTREAM_BASE_URLS",
              "https://api.binance.com,https://api-gcp.binance.com"},
             {"LOAN_GATEWAY_UPSTREAM_TIMEOUT", "2500ms"},
             {"LOAN_GATEWAY_JOURNAL_PATH", "/var/lib/loan-gateway/journal.db"},
             {"LOAN_GATEWAY_METRICS_LISTEN", "0.0.0.0:9464"},
             {"LOAN_GATEWAY_DRAIN_TIMEOUT", "40s"},
             {"LOAN_GATEWAY_INSECURE_PLAINTEXT", "true"}};
  GatewayConfig config = DefaultGatewayConfig();
  ASSERT_TRUE(ApplyEnvironment(config, Getenv(env)).ok());
  ASSERT_TRUE(ValidateGatewayConfig(config).ok())
      << ValidateGatewayConfig(config);
  EXPECT_EQ(config.credentials().api_key_file(), "/run/secrets/api_key");
  EXPECT_EQ(config.credentials().key_type(), "rsa");
  EXPECT_EQ(config.upstream().recv_window_ms(), 7000);
  EXPECT_EQ(config.upstream().base_urls_size(), 2);
  EXPECT_EQ(FromProtoDuration(config.upstream().timeout()),
            absl::Milliseconds(2500));
  EXPECT_EQ(config.journal().path(), "/var/lib/loan-gateway/journal.db");
  EXPECT_EQ(config.metrics().listen(), "0.0.0.0:9464");
  EXPECT_EQ(FromProtoDuration(config.server().drain_timeout()),
            absl::Seconds(40));
  const std::string dump = RedactedDump(config);
  EXPECT_TRUE(
      absl::StrContains(dump, "private_key_file=/run/secrets/private_key.pem"));
  EXPECT_TRUE(absl::StrContains(dump, "upstream_timeout=2.5s")) << dump;
  EXPECT_TRUE(absl::StrContains(dump, "upstream_ca_file=(system CAs)")) << dump;
}

// Every setting can come from the environment (the container sets them so),
// and its default parses and lies in its own range.
TEST(GatewayConfigTest, EverySettingHasItsVariableAndAGoodDefault) {
  std::vector<std::string> asked;
  GatewayConfig config = DefaultGatewayConfig();
  ASSERT_TRUE(ApplyEnvironment(config, [&](const char* name) -> const char* {
                asked.emplace_back(name);
                return nullptr;
              }).ok());
  EXPECT_EQ(asked.size(), SettingFields().size());
  for (const char* var :
       {"LOAN_GATEWAY_LISTEN", "LOAN_GATEWAY_API_KEY_FILE",
        "LOAN_GATEWAY_PRIVATE_KEY_FILE", "LOAN_GATEWAY_JOURNAL_PATH",
        "LOAN_GATEWAY_METRICS_LISTEN", "LOAN_GATEWAY_RECONCILE_SETTLE_AFTER",
        "LOAN_GATEWAY_UID_WEIGHT_LIMIT"}) {
    EXPECT_NE(std::find(asked.begin(), asked.end(), var), asked.end()) << var;
  }
  for (const SettingField& s : SettingFields()) {
    GatewayConfig scratch;
    EXPECT_TRUE(SetSettingFromText(scratch, s, s.setting->default_value()).ok())
        << s.flag();
    EXPECT_FALSE(s.setting->help().empty()) << s.flag();
    EXPECT_EQ(s.setting->min().empty(), s.setting->max().empty()) << s.flag();
  }
  EXPECT_TRUE(ValidateSettingRanges(DefaultGatewayConfig()).ok());
}

TEST(GatewayConfigTest, BadEnvironmentValueIsNamed) {
  GatewayConfig config = DefaultGatewayConfig();
  absl::Status s = ApplyEnvironment(
      config, Getenv({{"LOAN_GATEWAY_RECV_WINDOW_MS", "soon"}}));
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(
      s.message(),
      "LOAN_GATEWAY_RECV_WINDOW_MS: bad value \"soon\": not an integer"))
      << s;
}

TEST(GatewayConfigTest, ValidationCatchesMistakes) {
  GatewayConfig c = WithKeys();
  EXPECT_TRUE(ValidateGatewayConfig(c).ok()) << ValidateGatewayConfig(c);
  GatewayConfig no_key = c;
  no_key.mutable_credentials()->clear_api_key_file();
  EXPECT_EQ(ValidateGatewayConfig(no_key).message(),
            "--api_key_file is required");
  GatewayConfig window = c;
  window.mutable_upstream()->set_recv_window_ms(60001);
  EXPECT_EQ(ValidateGatewayConfig(window).message(),
            "--recv_window_ms must be in [1, 60000], got 60001");
  GatewayConfig slow = c;
  *slow.mutable_upstream()->mutable_timeout() =
      ToProtoDuration(absl::Seconds(61));
  EXPECT_EQ(ValidateGatewayConfig(slow).message(),
            "--upstream_timeout must be in [100ms, 1m], got 1m1s");
  GatewayConfig drain = c;
  *drain.mutable_server()->mutable_drain_timeout() =
      ToProtoDuration(absl::Seconds(10));
  EXPECT_TRUE(absl::StrContains(ValidateGatewayConfig(drain).message(),
                                "must be at least 500ms shorter than "
                                "--drain_timeout (10s)"));
  GatewayConfig key = c;
  key.mutable_credentials()->set_key_type("dsa");
  EXPECT_FALSE(ValidateGatewayConfig(key).ok());
  GatewayConfig relative = c;
  relative.mutable_journal()->set_path("journal.db");
  EXPECT_FALSE(ValidateGatewayConfig(relative).ok());
  GatewayConfig url = c;
  url.mutable_upstream()->clear_base_urls();
  EXPECT_EQ(ValidateGatewayConfig(url).message(),
            "--upstream_base_urls is required");
  url.mutable_upstream()->add_base_urls("ftp://x");
  EXPECT_FALSE(ValidateGatewayConfig(url).ok());
  url.mutable_upstream()->set_base_urls(0, "http://127.0.0.1:8080");
  EXPECT_FALSE(ValidateGatewayConfig(url).ok()) << "plain HTTP only when asked";
  url.mutable_upstream()->set_allow_plain_http(true);
  EXPECT_TRUE(ValidateGatewayConfig(url).ok());
  url.mutable_upstream()->set_base_urls(0, "https://x/");
  EXPECT_FALSE(ValidateGatewayConfig(url).ok());
}

// The database's password never sits in --journal_url (config dumps and
// process listings show it): it comes from --journal_password_file.
TEST(GatewayConfigTest, AJournalUrlHoldsNoPassword) {
  GatewayConfig c = WithKeys();
  c.mutable_journal()->set_url(
      "postgres://gw@db.internal:5432/loans?sslmode=verify-full");
  c.mutable_journal()->set_password_file("/run/secrets/db-password");
  EXPECT_TRUE(ValidateGatewayConfig(c).ok()) << ValidateGatewayConfig(c);
  for (const char* with_password :
       {"postgres://gw:hunter2@db.internal/loans",
        "postgresql://gw:hunter2@db.internal:5432/loans",
        "postgres://db.internal/loans?user=gw&password=hunter2"}) {
    GatewayConfig bad = c;
    bad.mutable_journal()->set_url(with_password);
    absl::Status refused = ValidateGatewayConfig(bad);
    EXPECT_TRUE(absl::StrContains(refused.message(), "--journal_password_file"))
        << with_password << ": " << refused;
    EXPECT_FALSE(absl::StrContains(refused.message(), "hunter2")) << refused;
  }
  GatewayConfig other_scheme = c;
  other_scheme.mutable_journal()->set_url("mysql://gw@db/loans");
  EXPECT_FALSE(ValidateGatewayConfig(other_scheme).ok());
  GatewayConfig file_only = c;
  file_only.mutable_journal()->clear_url();
  EXPECT_FALSE(ValidateGatewayConfig(file_only).ok())
      << "a password file without a database is a mistake";
}

TEST(GatewayConfigTest, AMisspeltVariableStopsTheStartNamingTheClosestSetting) {
  absl::Status s = RejectUnknownGatewayVariables(
      {"PATH", "LOAN_GATEWAY_LISTEN", "LOAN_GATEWAY_UPSTREAM_BASEURLS"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(),
                                "did you mean LOAN_GATEWAY_UPSTREAM_BASE_URLS "
                                "(--upstream_base_urls)?"))
      << s;
  EXPECT_TRUE(RejectUnknownGatewayVariables(
                  {"HOME", "LOAN_GATEWAY_JOURNAL_PATH",
                   "LOAN_GATEWAY_CREATE_JOURNAL", "LOAN_GATEWAY_CONFIG"})
                  .ok());
}

// A config file in either format sets what it names and leaves the rest;
// a list in it replaces the default list.
TEST(GatewayConfigTest, ConfigFileInTextOrJson) {
  const std::string text = TempFile("gateway.txtpb", R"(
    credentials { key_type: "hmac" api_key_file: "/k" private_key_file: "/s" }
    upstream { base_urls: "https://a" base_urls: "https://b" timeout { seconds: 3 } }
    metrics { listen: "" }
    access { insecure_plaintext: true }
  )");
  absl::StatusOr<GatewayConfig> from_text = ReadConfigFile(text);
  ASSERT_TRUE(from_text.ok()) << from_text.status();
  GatewayConfig config = DefaultGatewayConfig();
  OverlaySettings(*from_text, config);
  EXPECT_EQ(config.credentials().key_type(), "hmac");
  EXPECT_EQ(config.upstream().base_urls_size(), 2);
  EXPECT_EQ(FromProtoDuration(config.upstream().timeout()), absl::Seconds(3));
  EXPECT_EQ(config.upstream().recv_window_ms(), 5000) << "left at its default";
  EXPECT_EQ(config.metrics().listen(), "") << "an empty value is a value";
  const std::string json =
      TempFile("gateway.json",
               R"({"upstream": {"recvWindowMs": "7000", "timeout": "2.5s"},
          "journal": {"path": "/j", "create": true}})");
  absl::StatusOr<GatewayConfig> from_json = ReadConfigFile(json);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  OverlaySettings(*from_json, config);
  EXPECT_EQ(config.upstream().recv_window_ms(), 7000);
  EXPECT_EQ(config.upstream().base_urls_size(), 2) << "not named: kept";
  EXPECT_TRUE(config.journal().create());
  EXPECT_TRUE(ValidateGatewayConfig(config).ok());
  std::remove(text.c_str());
  std::remove(json.c_str());
}

TEST(GatewayConfigTest, ABrokenConfigFileIsNamedWithItsPlace) {
  const std::string text =
      TempFile("broken.txtpb", "upstream {\n  recv_windows_ms: 5\n}\n");
  absl::StatusOr<GatewayConfig> bad = ReadConfigFile(text);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "line 2:"))
      << bad.status();
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "recv_windows_ms"))
      << bad.status();
  const std::string json = TempFile("broken.json", R"({"upstream": 3})");
  EXPECT_FALSE(ReadConfigFile(json).ok());
  EXPECT_FALSE(ReadConfigFile("/nonexistent/gateway.txtpb").ok());
  std::remove(text.c_str());
  std::remove(json.c_str());
}

// The gRPC port is mutual TLS unless plaintext is asked for by name; each
// missing or unreadable file is named.
TEST(GatewayConfigTest, AccessIsMutualTlsUnlessInsecurePlaintextIsNamed) {
  GatewayConfig c = WithKeys();
  c.mutable_access()->set_insecure_plaintext(false);
  EXPECT_TRUE(absl::StartsWith(ValidateGatewayConfig(c).message(),
                               "--tls_cert_file is required"))
      << ValidateGatewayConfig(c);
  testing::TestPki pki(std::filesystem::temp_directory_path().string(),
                       absl::StrCat("config_", getpid()));
  const testing::CertFiles server = pki.Issue(
      absl::StrCat("config_server_", getpid()), {.common_name = "gw"});
  c.mutable_access()->set_tls_cert_file(server.cert);
  c.mutable_access()->set_tls_key_file(server.key);
  EXPECT_TRUE(absl::StartsWith(ValidateGatewayConfig(c).message(),
                               "--tls_client_ca_file is required"));
  c.mutable_access()->set_client_ca_file("/nonexistent/ca.pem");
  EXPECT_EQ(ValidateGatewayConfig(c).message(),
            "--tls_client_ca_file /nonexistent/ca.pem cannot be read");
  c.mutable_access()->set_client_ca_file(server.key);
  EXPECT_TRUE(absl::StrContains(ValidateGatewayConfig(c).message(),
                                "holds no PEM certificate"));
  c.mutable_access()->set_client_ca_file(pki.ca_file());
  EXPECT_TRUE(ValidateGatewayConfig(c).ok()) << ValidateGatewayConfig(c);
  for (const std::string& f : {server.cert, server.key, pki.ca_file()}) {
    std::remove(f.c_str());
  }
}

// Defaults, then the file, then the environment, then the command line.
TEST(GatewayConfigTest, EachLaterSourceWins) {
  const std::string file =
      TempFile("order.txtpb",
               "upstream { recv_window_ms: 1000 timeout { seconds: 2 } }\n"
               "credentials { api_key_file: \"/k\" private_key_file: \"/s\" }\n"
               "borrow { uid_weight_limit: 6000 }\n"
               "access { insecure_plaintext: true }\n");
  Env env = {{"LOAN_GATEWAY_RECV_WINDOW_MS", "2000"},
             {"LOAN_GATEWAY_UID_WEIGHT_LIMIT", "9000"}};
  absl::StatusOr<GatewayStart> start = LoadGatewayStart(
      {"loan-gateway", "--config", file, "--recv_window_ms=3000"}, Getenv(env),
      {"LOAN_GATEWAY_RECV_WINDOW_MS", "LOAN_GATEWAY_UID_WEIGHT_LIMIT"});
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(start->config.upstream().recv_window_ms(), 3000);
  EXPECT_EQ(start->config.borrow().uid_weight_limit(), 9000);
  EXPECT_EQ(FromProtoDuration(start->config.upstream().timeout()),
            absl::Seconds(2));
  EXPECT_EQ(start->config.server().listen(), "127.0.0.1:50051");
  Env via_env = {{"LOAN_GATEWAY_CONFIG", file}};
  absl::StatusOr<GatewayStart> from_env = LoadGatewayStart(
      {"loan-gateway"}, Getenv(via_env), {"LOAN_GATEWAY_CONFIG"});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->config.upstream().recv_window_ms(), 1000);
  std::remove(file.c_str());
}

// The README's table is the one the message gives, generated by
// `loan-gateway --print_settings_table`; this fails when they drift apart.
TEST(GatewayConfigTest, ReadmeShowsTheSettingsTable) {
  std::ifstream in(README_PATH);
  std::stringstream readme;
  readme << in.rdbuf();
  EXPECT_TRUE(absl::StrContains(readme.str(), RenderSettingsTableMarkdown()))
      << "README.md's settings table is stale; regenerate it with\n"
         "  build/server/loan-gateway --print_settings_table\nExpected:\n"
      << RenderSettingsTableMarkdown();
}

}  // namespace
}  // namespace loan_gateway
