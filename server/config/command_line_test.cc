#include "config/command_line.h"

#include "absl/strings/match.h"
#include "config/gateway_config.h"
#include "gtest/gtest.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

absl::StatusOr<CommandLineAction> Parse(std::vector<std::string> args,
                                        GatewayConfig& config) {
  args.insert(args.begin(), "loan-gateway");
  return ApplyCommandLine(args, config);
}

absl::StatusOr<CommandLineAction> Parse(std::vector<std::string> args) {
  GatewayConfig scratch = DefaultGatewayConfig();
  return Parse(std::move(args), scratch);
}

TEST(CommandLineTest, SetsSettingsInEveryForm) {
  GatewayConfig c = DefaultGatewayConfig();
  ASSERT_TRUE(
      Parse({"--recv_window_ms=7000", "--upstream_timeout", "3s",
             "--create_journal", "--api_key_file=a", "--private_key_file=b",
             "--journal_path=/j", "--insecure_plaintext"},
            c)
          .ok());
  EXPECT_TRUE(ValidateGatewayConfig(c).ok()) << ValidateGatewayConfig(c);
  EXPECT_EQ(c.upstream().recv_window_ms(), 7000);
  EXPECT_EQ(FromProtoDuration(c.upstream().timeout()), absl::Seconds(3));
  EXPECT_TRUE(c.journal().create());
  EXPECT_TRUE(c.access().insecure_plaintext()) << "a bare boolean flag";
  ASSERT_TRUE(Parse({"--nocreate_journal"}, c).ok());
  EXPECT_FALSE(c.journal().create());
  ASSERT_TRUE(Parse({"--metrics_listen="}, c).ok());
  EXPECT_EQ(c.metrics().listen(), "") << "empty: the endpoint is off";
}

TEST(CommandLineTest, MistakesComeBackAsErrorsNamingTheFlag) {
  absl::StatusOr<CommandLineAction> typo = Parse({"--recv_windows_ms=5"});
  EXPECT_FALSE(typo.ok());
  EXPECT_TRUE(absl::StrContains(typo.status().message(),
                                "unknown flag --recv_windows_ms; did you mean "
                                "--recv_window_ms?"))
      << typo.status();
  absl::StatusOr<CommandLineAction> bad = Parse({"--recv_window_ms=soon"});
  EXPECT_TRUE(absl::StrContains(bad.status().message(),
                                "bad value \"soon\" for --recv_window_ms"))
      << bad.status();
  EXPECT_FALSE(Parse({"--upstream_timeout=10"}).ok()) << "a unit is needed";
  EXPECT_FALSE(Parse({"--listen"}).ok());    // No value.
  EXPECT_FALSE(Parse({"positional"}).ok());  // Only flags.
}

TEST(CommandLineTest, HelpVersionAndTablesAreActions) {
  EXPECT_EQ(*Parse({"--help"}), CommandLineAction::kHelp);
  EXPECT_EQ(*Parse({"-h"}), CommandLineAction::kHelp);
  EXPECT_EQ(*Parse({"--version"}), CommandLineAction::kVersion);
  EXPECT_EQ(*Parse({"--print_error_table"}),
            CommandLineAction::kPrintErrorTable);
  EXPECT_EQ(*Parse({"--print_settings_table"}),
            CommandLineAction::kPrintSettingsTable);
  const std::string usage = GatewayUsage();
  EXPECT_TRUE(absl::StrContains(usage, "LOAN_GATEWAY_<FLAG>"));
  EXPECT_TRUE(absl::StrContains(
      usage, "--upstream_base_urls  (LOAN_GATEWAY_UPSTREAM_BASE_URLS)"));
  EXPECT_TRUE(absl::StrContains(GatewayVersion(), "loan-gateway 0."));
}

}  // namespace
}  // namespace loan_gateway
