#include "config/gateway_config.h"

#include <algorithm>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "config/setting_ranges.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address host:port (port 0 picks one)");
ABSL_FLAG(std::string, port_file, "", "write the bound gRPC port to this file");
ABSL_FLAG(std::string, upstream_base_urls, "https://api.binance.com",
          "comma-separated Binance base URLs; the next is tried only when "
          "nothing was sent");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "CA bundle for the upstream (empty: system CAs)");
ABSL_FLAG(std::string, key_type, "ed25519",
          "credit account key type: hmac, rsa or ed25519");
ABSL_FLAG(std::string, api_key_file, "", "file holding the Binance API key");
ABSL_FLAG(
    std::string, private_key_file, "",
    "file holding the HMAC secret, or the PEM private key (RSA: PKCS#8 or "
    "PKCS#1; Ed25519: PKCS#8)");
ABSL_FLAG(int64_t, recv_window_ms, 5000, "Binance recvWindow in ms (1..60000)");
ABSL_FLAG(absl::Duration, upstream_timeout, absl::Seconds(10),
          "how long to wait for Binance's answer to a borrow");
ABSL_FLAG(absl::Duration, time_sync_interval, absl::Seconds(30),
          "how often to re-read Binance's server time");
ABSL_FLAG(
    absl::Duration, max_clock_uncertainty, absl::Milliseconds(1000),
    "refuse to sign when the server-time offset is less certain than this");

ABSL_FLAG(absl::Duration, min_call_deadline, absl::Milliseconds(200),
          "refuse (nothing sent) a call whose deadline leaves less than this");
ABSL_FLAG(
    int64_t, uid_weight_limit, 180000,
    "the credit account's SAPI UID weight per minute (a borrow costs 3000)");

ABSL_FLAG(std::string, journal_path, "/var/lib/loan-gateway/journal.db",
          "the durable journal (SQLite), an absolute path");
ABSL_FLAG(bool, create_journal, false,
          "create the journal if it does not exist (a gateway's first start "
          "only: starting on an empty journal where one existed forgets every "
          "request_id and every borrow whose outcome is unknown)");
ABSL_FLAG(absl::Duration, journal_retention, absl::Hours(48),
          "how long settled borrows (and so their request_ids) are kept; at "
          "least 24h");
ABSL_FLAG(int64_t, risk_unit_queue_limit, 16,
          "borrows that may wait behind the one in flight for a risk unit");
ABSL_FLAG(absl::Duration, reconcile_interval, absl::Seconds(5),
          "how often unknown outcomes are checked against Binance's records");
ABSL_FLAG(
    absl::Duration, reconcile_settle_after, absl::Minutes(2),
    "an unknown borrow with no Binance record this long after it is settled as "
    "not executed");
ABSL_FLAG(absl::Duration, upstream_probe_interval, absl::Seconds(30),
          "how often a signed read checks that Binance answers and accepts the "
          "key (health is NOT_SERVING until it does)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(25),
          "on SIGTERM, how long calls in flight may take to finish");

ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics address host:port (IPv4; port 0 picks one; "
          "empty: off)");
ABSL_FLAG(std::string, metrics_port_file, "",
          "write the bound metrics port to this file");

ABSL_FLAG(int64_t, max_grpc_connections, 512,
          "gRPC connections open at once; beyond it a new one is closed at "
          "once (the descriptors stay below the open-file limit)");
ABSL_FLAG(int64_t, max_metrics_connections, 16,
          "metrics connections open at once");
ABSL_FLAG(int64_t, grpc_max_message_bytes, 16 * 1024,
          "largest gRPC request accepted (a Borrow is a few hundred bytes)");
ABSL_FLAG(int64_t, grpc_max_concurrent_streams, 32,
          "concurrent calls per gRPC connection (HTTP/2 SETTINGS)");
ABSL_FLAG(absl::Duration, grpc_handshake_timeout, absl::Seconds(5),
          "a connection that has not finished its HTTP/2 handshake by then is "
          "closed");
ABSL_FLAG(absl::Duration, grpc_max_connection_idle, absl::Minutes(2),
          "a connection without a call for this long is closed (GOAWAY)");
ABSL_FLAG(absl::Duration, grpc_min_client_ping_interval, absl::Seconds(10),
          "keepalive enforcement: a client pinging more often than this (with "
          "no call) is cut off after 2 strikes");

ABSL_FLAG(bool, allow_plain_http_upstream, false,
          "accept http:// upstream base URLs (the key would travel in clear: "
          "sandboxes only)");

namespace loan_gateway {
namespace {

// Edit distance, for naming the setting a misspelt variable meant.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

// Every flag defined in this file is a gateway setting, so the environment
// covers each one without a second list to keep in step.
bool IsGatewayFlag(const absl::CommandLineFlag& flag) {
  return absl::EndsWith(flag.Filename(), "config/gateway_config.cc");
}

std::string ClosestFlagHint(absl::string_view name) {
  std::string closest;
  size_t best = std::string::npos;
  for (const auto& [known, flag] : absl::GetAllFlags()) {
    if (!IsGatewayFlag(*flag)) continue;
    if (const size_t d = EditDistance(name, known); d < best) {
      best = d;
      closest = std::string(known);
    }
  }
  return closest.empty() ? "" : absl::StrCat("; did you mean --", closest, "?");
}

absl::Status RejectUnknownGatewayVariables(
    const std::vector<std::string>& variable_names) {
  std::vector<std::string> known;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsGatewayFlag(*flag)) known.push_back(std::string(name));
  }
  for (const std::string& variable : variable_names) {
    absl::string_view rest = variable;
    if (!absl::ConsumePrefix(&rest, "LOAN_GATEWAY_")) continue;
    const std::string flag = absl::AsciiStrToLower(rest);
    if (std::find(known.begin(), known.end(), flag) != known.end()) continue;
    std::string closest;
    size_t best = std::string::npos;
    for (const std::string& k : known) {
      if (const size_t d = EditDistance(flag, k); d < best) {
        best = d;
        closest = k;
      }
    }
    // A typo must not silently leave a default in place (the default
    // upstream is production Binance).
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown environment variable ", variable,
        ": no gateway setting has that name; did you mean LOAN_GATEWAY_",
        absl::AsciiStrToUpper(closest), " (--", closest, ")?"));
  }
  return absl::OkStatus();
}

absl::Status ApplyEnvironmentToFlags(
    const std::function<const char*(const char*)>& getenv) {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsGatewayFlag(*flag)) continue;
    const std::string var =
        "LOAN_GATEWAY_" + absl::AsciiStrToUpper(std::string(name));
    const char* value = getenv(var.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(var, ": ", error));
    }
  }
  return absl::OkStatus();
}

std::string GatewayConfig::RedactedDump() const {
  return absl::StrCat(
      "listen=", listen,
      " upstream_base_urls=", absl::StrJoin(upstream_base_urls, ","),
      " upstream_ca_file=",
      upstream_ca_file.empty() ? "(system)" : upstream_ca_file,
      " key_type=", KeyTypeName(key_type), " api_key_file=", api_key_file,
      " private_key_file=", private_key_file,
      " recv_window_ms=", recv_window_ms,
      " upstream_timeout=", absl::FormatDuration(upstream_timeout),
      " time_sync_interval=", absl::FormatDuration(time_sync_interval),
      " max_clock_uncertainty=", absl::FormatDuration(max_clock_uncertainty),
      " min_call_deadline=", absl::FormatDuration(min_call_deadline),
      " uid_weight_limit=", uid_weight_limit, " journal_path=", journal_path,
      " create_journal=", create_journal ? "true" : "false",
      " journal_retention=", absl::FormatDuration(journal_retention),
      " risk_unit_queue_limit=", risk_unit_queue_limit,
      " reconcile_interval=", absl::FormatDuration(reconcile_interval),
      " reconcile_settle_after=", absl::FormatDuration(reconcile_settle_after),
      " drain_timeout=", absl::FormatDuration(drain_timeout),
      " upstream_probe_interval=",
      absl::FormatDuration(upstream_probe_interval),
      " metrics_listen=", metrics_listen.empty() ? "(off)" : metrics_listen,
      " max_grpc_connections=", max_grpc_connections,
      " max_metrics_connections=", max_metrics_connections,
      " grpc_max_message_bytes=", grpc_max_message_bytes,
      " grpc_max_concurrent_streams=", grpc_max_concurrent_streams,
      " grpc_handshake_timeout=", absl::FormatDuration(grpc_handshake_timeout),
      " grpc_max_connection_idle=",
      absl::FormatDuration(grpc_max_connection_idle),
      " grpc_min_client_ping_interval=",
      absl::FormatDuration(grpc_min_client_ping_interval));
}

absl::Status ValidateGatewayConfig(const GatewayConfig& c) {
  if (c.api_key_file.empty())
    return absl::InvalidArgumentError("--api_key_file is required");
  if (c.private_key_file.empty()) {
    return absl::InvalidArgumentError("--private_key_file is required");
  }
  if (c.recv_window_ms < 1 || c.recv_window_ms > 60000) {
    return absl::InvalidArgumentError("--recv_window_ms must be in 1..60000");
  }
  if (c.upstream_base_urls.empty()) {
    return absl::InvalidArgumentError("--upstream_base_urls is empty");
  }
  for (const std::string& url : c.upstream_base_urls) {
    const bool plain_ok =
        c.allow_plain_http_upstream && absl::StartsWith(url, "http://");
    if (!absl::StartsWith(url, "https://") && !plain_ok) {
      return absl::InvalidArgumentError(
          "upstream base URLs must start with https:// (the API key and signed "
          "requests must not travel in clear; --allow_plain_http_upstream for "
          "a sandbox)");
    }
    if (absl::EndsWith(url, "/")) {
      return absl::InvalidArgumentError(
          "upstream base URLs must not end with '/'");
    }
  }
  // A relative path would give a fresh, empty journal whenever the gateway
  // is started from another directory.
  if (!absl::StartsWith(c.journal_path, "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--journal_path must be absolute, got \"", c.journal_path, "\""));
  }
  if (!c.upstream_ca_file.empty()) {
    if (absl::Status ca = ValidateCaFile(c.upstream_ca_file); !ca.ok()) {
      return ca;
    }
  }
  return ValidateSettingRanges(c);
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig() {
  GatewayConfig c;
  c.listen = absl::GetFlag(FLAGS_listen);
  c.port_file = absl::GetFlag(FLAGS_port_file);
  c.upstream_base_urls = absl::StrSplit(absl::GetFlag(FLAGS_upstream_base_urls),
                                        ',', absl::SkipWhitespace());
  c.upstream_ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  absl::StatusOr<KeyType> key_type =
      ParseKeyType(absl::GetFlag(FLAGS_key_type));
  if (!key_type.ok()) return key_type.status();
  c.key_type = *key_type;
  c.api_key_file = absl::GetFlag(FLAGS_api_key_file);
  c.private_key_file = absl::GetFlag(FLAGS_private_key_file);
  c.recv_window_ms = absl::GetFlag(FLAGS_recv_window_ms);
  c.upstream_timeout = absl::GetFlag(FLAGS_upstream_timeout);
  c.time_sync_interval = absl::GetFlag(FLAGS_time_sync_interval);
  c.max_clock_uncertainty = absl::GetFlag(FLAGS_max_clock_uncertainty);
  c.min_call_deadline = absl::GetFlag(FLAGS_min_call_deadline);
  c.uid_weight_limit = absl::GetFlag(FLAGS_uid_weight_limit);
  c.journal_path = absl::GetFlag(FLAGS_journal_path);
  c.create_journal = absl::GetFlag(FLAGS_create_journal);
  c.journal_retention = absl::GetFlag(FLAGS_journal_retention);
  c.risk_unit_queue_limit = absl::GetFlag(FLAGS_risk_unit_queue_limit);
  c.reconcile_interval = absl::GetFlag(FLAGS_reconcile_interval);
  c.reconcile_settle_after = absl::GetFlag(FLAGS_reconcile_settle_after);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.upstream_probe_interval = absl::GetFlag(FLAGS_upstream_probe_interval);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  c.metrics_port_file = absl::GetFlag(FLAGS_metrics_port_file);
  c.max_grpc_connections = absl::GetFlag(FLAGS_max_grpc_connections);
  c.max_metrics_connections = absl::GetFlag(FLAGS_max_metrics_connections);
  c.grpc_max_message_bytes = absl::GetFlag(FLAGS_grpc_max_message_bytes);
  c.grpc_max_concurrent_streams =
      absl::GetFlag(FLAGS_grpc_max_concurrent_streams);
  c.grpc_handshake_timeout = absl::GetFlag(FLAGS_grpc_handshake_timeout);
  c.grpc_max_connection_idle = absl::GetFlag(FLAGS_grpc_max_connection_idle);
  c.grpc_min_client_ping_interval =
      absl::GetFlag(FLAGS_grpc_min_client_ping_interval);
  c.allow_plain_http_upstream = absl::GetFlag(FLAGS_allow_plain_http_upstream);
  if (absl::Status s = ValidateGatewayConfig(c); !s.ok()) return s;
  return c;
}

}  // namespace loan_gateway
