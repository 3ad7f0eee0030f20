#include "config/command_line.h"

#include <grpcpp/grpcpp.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "config/gateway_config.h"

#ifndef LOAN_GATEWAY_VERSION
#define LOAN_GATEWAY_VERSION "unknown"
#endif

namespace loan_gateway {
namespace {

std::optional<CommandLineAction> ActionFlag(absl::string_view arg) {
  if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
    return CommandLineAction::kHelp;
  }
  if (arg == "--version") return CommandLineAction::kVersion;
  if (arg == "--print_error_table") return CommandLineAction::kPrintErrorTable;
  if (arg == "--print_settings_table") {
    return CommandLineAction::kPrintSettingsTable;
  }
  return std::nullopt;
}

// The --config file's path from argv, else from LOAN_GATEWAY_CONFIG.
absl::StatusOr<std::string> ConfigPath(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (absl::ConsumePrefix(&arg, "--config=")) return std::string(arg);
    if (arg == "--config") {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError("flag --config needs a value");
      }
      return args[i + 1];
    }
  }
  const char* from_env = getenv("LOAN_GATEWAY_CONFIG");
  return from_env == nullptr ? "" : from_env;
}

}  // namespace

absl::StatusOr<CommandLineAction> ApplyCommandLine(
    const std::vector<std::string>& args, GatewayConfig& config) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (std::optional<CommandLineAction> action = ActionFlag(arg)) {
      return *action;
    }
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", arg, "\": the gateway takes only flags"));
    }
    std::string name(arg.substr(0, arg.find('=')));
    const bool has_value = arg.find('=') != absl::string_view::npos;
    std::string value(has_value ? arg.substr(arg.find('=') + 1) : "");
    if (name == "config") {  // Read before everything else.
      if (!has_value) ++i;
      continue;
    }
    const SettingField* setting = FindSetting(name);
    if (setting == nullptr && !has_value && absl::StartsWith(name, "no")) {
      const SettingField* negated = FindSetting(name.substr(2));
      if (negated != nullptr && negated->IsBool()) {
        setting = negated;
        value = "false";
      }
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, ClosestFlagHint(name)));
    }
    if (!has_value && value.empty()) {
      if (setting->IsBool()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    }
    if (absl::Status set = SetSettingFromText(config, *setting, value);
        !set.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad value \"", value, "\" for --", name, ": ", set.message()));
    }
  }
  return CommandLineAction::kRun;
}

absl::StatusOr<GatewayStart> LoadGatewayStart(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv,
    const std::vector<std::string>& variables) {
  GatewayStart start{.config = DefaultGatewayConfig()};
  if (absl::Status names = RejectUnknownGatewayVariables(variables);
      !names.ok()) {
    return names;
  }
  absl::StatusOr<std::string> path = ConfigPath(args, getenv);
  if (!path.ok()) return path.status();
  if (!path->empty()) {
    absl::StatusOr<GatewayConfig> file = ReadConfigFile(*path);
    if (!file.ok()) return file.status();
    OverlaySettings(*file, start.config);
  }
  if (absl::Status env = ApplyEnvironment(start.config, getenv); !env.ok()) {
    return env;
  }
  absl::StatusOr<CommandLineAction> action =
      ApplyCommandLine(args, start.config);
  if (!action.ok()) return action.status();
  start.action = *action;
  if (start.action == CommandLineAction::kRun) {
    if (absl::Status valid = ValidateGatewayConfig(start.config); !valid.ok()) {
      return valid;
    }
  }
  return start;
}

std::string GatewayUsage() {
  std::string out = absl::StrCat(
      "loan-gateway: signs borrows for a Binance institutional-loan credit "
      "account and serves them over gRPC (institutional_loan.v1).\n\n"
      "Usage: loan-gateway [--config FILE] [--flag=value ...]\n\n"
      "Every setting is a flag, an environment variable LOAN_GATEWAY_<FLAG> "
      "(the flag's name in capitals) and a field of the --config file "
      "(loan_gateway.config.v1.GatewayConfig, text format or JSON); the "
      "environment wins over the file and the command line over both. An "
      "unknown LOAN_GATEWAY_* variable stops the start. Secrets only ever "
      "come from files. Logs are JSON lines on stdout. Exit codes: 0 stopped "
      "cleanly, 1 the drain ran out, 2 bad settings or a failed start, 3 the "
      "gRPC listener stopped accepting.\n\nSettings:\n");
  for (const SettingField& s : SettingFields()) {
    absl::StrAppend(&out, "  --", s.flag(), "  (", s.EnvironmentVariable(),
                    ")  config: ", s.Path(), "  default: \"",
                    s.setting->default_value(), "\"",
                    s.setting->min().empty()
                        ? ""
                        : absl::StrCat("  range: [", s.setting->min(), ", ",
                                       s.setting->max(), "]"),
                    "\n      ", s.setting->help(), "\n");
  }
  absl::StrAppend(
      &out,
      "  --config FILE  (LOAN_GATEWAY_CONFIG)\n      a "
      "GatewayConfig in text format, or JSON (.json)\n"
      "  --print_error_table\n      print the error contract as "
      "Markdown and exit\n  --print_settings_table\n      print "
      "the settings as Markdown and exit\n  --verify_audit FILE\n      "
      "check an audit log's hash chain (a file, a journal file's table, or "
      "postgres://...); name the first broken "
      "record (exit 1) or print its head (exit 0)\n"
      "  --version\n  --help\n");
  return out;
}

std::string GatewayVersion() {
  return absl::StrCat("loan-gateway ", LOAN_GATEWAY_VERSION, " (gRPC ",
                      grpc::Version(), ")");
}

}  // namespace loan_gateway
