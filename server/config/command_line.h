#ifndef LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_
#define LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "config/setting_fields.h"

namespace loan_gateway {

enum class CommandLineAction {
  kRun,
  kHelp,
  kVersion,
  kPrintErrorTable,
  kPrintSettingsTable
};

// Sets settings from argv: --name=value, --name value, --name / --noname for
// booleans; --help/-h, --version and the --print_* flags ask for text
// instead; --config is skipped (LoadGatewayStart reads it first). It never
// prints or exits: an unknown flag or a bad value comes back as an error for
// the JSON log (with the closest flag's name for a typo).
absl::StatusOr<CommandLineAction> ApplyCommandLine(
    const std::vector<std::string>& args, GatewayConfig& config);

// What the process was asked to do, and with which settings.
struct GatewayStart {
  CommandLineAction action = CommandLineAction::kRun;
  GatewayConfig config;
};

// Every source in order, each later one winning: the defaults, the --config
// file (or LOAN_GATEWAY_CONFIG), the LOAN_GATEWAY_* variables, the command
// line. `variables` are the names in the environment (a misspelt one stops
// the start). The result is validated when the action is kRun.
absl::StatusOr<GatewayStart> LoadGatewayStart(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv,
    const std::vector<std::string>& variables);

// What --help prints: how to run it, where settings come from, and every
// setting with its environment variable, default and meaning.
std::string GatewayUsage();

// "loan-gateway <version> (gRPC <version>)".
std::string GatewayVersion();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_
