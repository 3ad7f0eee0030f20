#ifndef LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_
#define LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sign/signer.h"

namespace loan_gateway {

// The gateway's settings. Secrets are never values here, only file paths.
struct GatewayConfig {
  std::string listen = "127.0.0.1:50051";
  std::string port_file;  // If set, the bound gRPC port is written there.
  std::vector<std::string> upstream_base_urls = {"https://api.binance.com"};
  std::string upstream_ca_file;  // Empty: the system CA bundle.
  KeyType key_type = KeyType::kEd25519;
  std::string api_key_file;
  std::string private_key_file;  // HMAC secret, or PKCS#8 PEM (RSA/Ed25519).
  int64_t recv_window_ms = 5000;
  absl::Duration upstream_timeout = absl::Seconds(10);
  absl::Duration time_sync_interval = absl::Seconds(30);
  absl::Duration max_clock_uncertainty = absl::Milliseconds(1000);
  absl::Duration min_call_deadline = absl::Milliseconds(200);
  int64_t uid_weight_limit = 180000;
  std::string journal_path = "/var/lib/loan-gateway/journal.db";
  bool create_journal = false;  // Only a first start creates a journal.
  absl::Duration journal_retention = absl::Hours(48);
  int64_t risk_unit_queue_limit = 16;
  absl::Duration reconcile_interval = absl::Seconds(5);
  absl::Duration reconcile_settle_after = absl::Minutes(2);
  absl::Duration drain_timeout = absl::Seconds(25);
  absl::Duration upstream_probe_interval = absl::Seconds(30);
  std::string metrics_listen = "127.0.0.1:9464";  // Empty: no metrics endpoint.
  std::string metrics_port_file;
  int64_t max_grpc_connections = 512;
  int64_t max_metrics_connections = 16;
  int64_t grpc_max_message_bytes = int64_t{16} * 1024;
  int64_t grpc_max_concurrent_streams = 32;
  absl::Duration grpc_handshake_timeout = absl::Seconds(5);
  absl::Duration grpc_max_connection_idle = absl::Minutes(2);
  absl::Duration grpc_min_client_ping_interval = absl::Seconds(10);
  bool allow_plain_http_upstream = false;  // Tests of a plain-HTTP fake only.

  // One line per setting, for the start-up log: paths, never contents.
  std::string RedactedDump() const;
};

// Sets each gateway flag from LOAN_GATEWAY_<FLAG_NAME_IN_CAPITALS> when that
// variable exists. Call it before absl::ParseCommandLine, so that flags given
// on the command line win over the environment.
absl::Status ApplyEnvironmentToFlags(
    const std::function<const char*(const char*)>& getenv);

// Whether `flag` is one of the gateway's settings (defined with them).
bool IsGatewayFlag(const absl::CommandLineFlag& flag);

// "; did you mean --<the closest setting>?" for a name that is none.
std::string ClosestFlagHint(absl::string_view name);

// Fails on any LOAN_GATEWAY_* variable that names no setting, naming the
// closest one: a misspelt variable must stop the start, not be ignored.
absl::Status RejectUnknownGatewayVariables(
    const std::vector<std::string>& variable_names);

// Reads the settings from the (parsed) flags and checks them.
absl::StatusOr<GatewayConfig> LoadGatewayConfig();

absl::Status ValidateGatewayConfig(const GatewayConfig& config);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CONFIG_GATEWAY_CONFIG_H_
