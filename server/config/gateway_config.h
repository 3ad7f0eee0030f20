#ifndef LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_
#define LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "config/setting_fields.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"

namespace loan_gateway {

// Every setting at its default (each field's `default_value` option).
GatewayConfig DefaultGatewayConfig();

// A --config file: GatewayConfig in protobuf's JSON format when the file ends
// in .json or starts with '{', else in its text format; parsed by protobuf
// itself, so an unknown field or a bad value is an error naming the place.
absl::StatusOr<GatewayConfig> ReadConfigFile(const std::string& path);

// Each setting `from` gives a value replaces the one in `to`.
void OverlaySettings(const GatewayConfig& from, GatewayConfig& to);

// Sets each setting whose LOAN_GATEWAY_<FLAG> variable exists.
absl::Status ApplyEnvironment(
    GatewayConfig& config,
    const std::function<const char*(const char*)>& getenv);

// "; did you mean --<the closest flag>?" for a name that is none.
std::string ClosestFlagHint(absl::string_view name);

// Fails on any LOAN_GATEWAY_* variable that names no setting, naming the
// closest one: a misspelt variable must stop the start, not be ignored.
absl::Status RejectUnknownGatewayVariables(
    const std::vector<std::string>& variable_names);

// The one check of a whole configuration: required settings, every range
// (from the fields' options), and the rules that tie settings together.
absl::Status ValidateGatewayConfig(const GatewayConfig& config);

// One line for the start-up log, every setting as flag=value: paths, never
// contents (no setting holds a secret).
std::string RedactedDump(const GatewayConfig& config);

// The README's settings table, generated from the message.
std::string RenderSettingsTableMarkdown();

// The files kept beside the journal unless set: --audit_log (audit.jsonl)
// and --halt_file (borrowing-halted).
std::string AuditLogPath(const GatewayConfig& config);
std::string HaltFilePath(const GatewayConfig& config);
// Whether the audit trail is rows of the journal, written in its
// transactions (--audit_in_journal, or --journal_url without --audit_log)
// rather than AuditLogPath's file.
bool AuditInJournal(const GatewayConfig& config);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_
