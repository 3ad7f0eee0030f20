#include "config/command_line.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/flags/reflection.h"
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

bool IsBool(const absl::CommandLineFlag& flag) { return flag.IsOfType<bool>(); }

absl::Status Unknown(absl::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown flag --", name, ClosestFlagHint(name)));
}

}  // namespace

absl::StatusOr<CommandLineAction> ParseGatewayCommandLine(
    const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      return CommandLineAction::kHelp;
    }
    if (arg == "--version") return CommandLineAction::kVersion;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected argument \"", arg, "\": the gateway takes only flags"));
    }
    std::string name(arg.substr(0, arg.find('=')));
    const bool has_value = arg.find('=') != absl::string_view::npos;
    std::string value(has_value ? arg.substr(arg.find('=') + 1) : "");
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && IsBool(*negated)) {
        flag = negated;
        value = "false";
      }
    }
    if (flag == nullptr || flag->IsRetired()) return Unknown(name);
    if (!has_value && value.empty()) {
      if (IsBool(*flag)) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value \"", value, "\" for --", name, ": ", error));
    }
  }
  return CommandLineAction::kRun;
}

std::string GatewayUsage() {
  std::string out = absl::StrCat(
      "loan-gateway: signs borrows for a Binance institutional-loan credit "
      "account and serves them over gRPC (institutional_loan.v1).\n\n"
      "Usage: loan-gateway [--flag=value ...]\n\n"
      "Every setting is a flag or an environment variable LOAN_GATEWAY_<FLAG> "
      "(the flag's name in capitals); the command line wins. An unknown "
      "LOAN_GATEWAY_* variable stops the start. Secrets only ever come from "
      "files. Logs are JSON lines on stdout. Exit codes: 0 stopped cleanly, "
      "1 the drain ran out, 2 bad settings or a failed start, 3 the gRPC "
      "listener stopped accepting.\n\n"
      "Settings:\n");
  std::vector<const absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsGatewayFlag(*flag)) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  for (const absl::CommandLineFlag* flag : flags) {
    const std::string name(flag->Name());
    absl::StrAppend(&out, "  --", name, "  (LOAN_GATEWAY_",
                    absl::AsciiStrToUpper(name), ")  default: \"",
                    flag->DefaultValue(), "\"\n      ", flag->Help(), "\n");
  }
  absl::StrAppend(&out,
                  "  --print_error_table\n      print the error contract as "
                  "Markdown and exit\n  --version\n  --help\n");
  return out;
}

std::string GatewayVersion() {
  return absl::StrCat("loan-gateway ", LOAN_GATEWAY_VERSION, " (gRPC ",
                      grpc::Version(), ")");
}

}  // namespace loan_gateway
