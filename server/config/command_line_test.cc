#include "config/command_line.h"

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "config/gateway_config.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

absl::StatusOr<CommandLineAction> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "loan-gateway");
  return ParseGatewayCommandLine(args);
}

TEST(CommandLineTest, SetsFlagsInEveryForm) {
  absl::FlagSaver restore;
  ASSERT_TRUE(Parse({"--recv_window_ms=7000", "--upstream_timeout", "3s",
                     "--create_journal", "--api_key_file=a",
                     "--private_key_file=b", "--journal_path=/j"})
                  .ok());
  absl::StatusOr<GatewayConfig> c = LoadGatewayConfig();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->recv_window_ms, 7000);
  EXPECT_EQ(c->upstream_timeout, absl::Seconds(3));
  EXPECT_TRUE(c->create_journal);
  ASSERT_TRUE(Parse({"--nocreate_journal"}).ok());
  EXPECT_FALSE(LoadGatewayConfig()->create_journal);
}

TEST(CommandLineTest, MistakesComeBackAsErrorsNamingTheFlag) {
  absl::FlagSaver restore;
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
  EXPECT_FALSE(Parse({"--listen"}).ok());    // No value.
  EXPECT_FALSE(Parse({"positional"}).ok());  // Only flags.
}

TEST(CommandLineTest, HelpAndVersionAreActions) {
  EXPECT_EQ(*Parse({"--help"}), CommandLineAction::kHelp);
  EXPECT_EQ(*Parse({"-h"}), CommandLineAction::kHelp);
  EXPECT_EQ(*Parse({"--version"}), CommandLineAction::kVersion);
  const std::string usage = GatewayUsage();
  EXPECT_TRUE(absl::StrContains(usage, "LOAN_GATEWAY_<FLAG>"));
  EXPECT_TRUE(absl::StrContains(
      usage, "--upstream_base_urls  (LOAN_GATEWAY_UPSTREAM_BASE_URLS)"));
  EXPECT_TRUE(absl::StrContains(GatewayVersion(), "loan-gateway 0."));
}

}  // namespace
}  // namespace loan_gateway
