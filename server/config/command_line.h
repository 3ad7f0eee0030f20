#ifndef LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_
#define LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace loan_gateway {

enum class CommandLineAction { kRun, kHelp, kVersion };

// Sets the gateway's flags from argv (after the environment, so the command
// line wins): --name=value, --name value, --name / --noname for booleans;
// --help/-h and --version ask for text instead. Unlike absl's parser it never
// prints or exits: an unknown flag or a bad value comes back as an error for
// the JSON log (and the closest flag's name for a typo).
absl::StatusOr<CommandLineAction> ParseGatewayCommandLine(
    const std::vector<std::string>& args);

// What --help prints: how to run it, where settings come from, and every
// setting with its environment variable, default and meaning.
std::string GatewayUsage();

// "loan-gateway <version> (gRPC <version>)".
std::string GatewayVersion();

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_COMMAND_LINE_H_
