#include "config/setting_ranges.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"

namespace loan_gateway {
namespace {

SettingRange Durations(const std::string& flag, absl::Duration value,
                       absl::Duration min, absl::Duration max) {
  return {flag,
          absl::StrCat("[", absl::FormatDuration(min), ", ",
                       absl::FormatDuration(max), "]"),
          value >= min && value <= max, absl::FormatDuration(value)};
}

SettingRange Integers(const std::string& flag, int64_t value, int64_t min,
                      int64_t max) {
  return {flag, absl::StrCat("[", min, ", ", max, "]"),
          value >= min && value <= max, absl::StrCat(value)};
}

}  // namespace

std::vector<SettingRange> CheckSettingRanges(const GatewayConfig& c) {
  using absl::Hours;
  using absl::Milliseconds;
  using absl::Minutes;
  using absl::Seconds;
  return {
      // Binance accepts 1..60000.
      Integers("--recv_window_ms", c.recv_window_ms, 1, 60000),
      // Long enough for one exchange over a slow link; short enough that a
      // borrow in flight at SIGTERM finishes within the drain (checked below).
      Durations("--upstream_timeout", c.upstream_timeout, Milliseconds(100),
                Seconds(60)),
      // Below a second it hammers /api/v3/time (weight counts per IP: a ban).
      Durations("--time_sync_interval", c.time_sync_interval, Seconds(1),
                Hours(1)),
      Durations("--max_clock_uncertainty", c.max_clock_uncertainty,
                Milliseconds(1), Seconds(5)),
      // More than a few seconds would refuse nearly every ordinary call.
      Durations("--min_call_deadline", c.min_call_deadline,
                absl::ZeroDuration(), Seconds(10)),
      // One borrow costs 3000; Binance's own limit is 180000 per minute (a
      // higher value only leaves the counting to Binance's 429s: sandboxes).
      Integers("--uid_weight_limit", c.uid_weight_limit, 3000, 1000000000000),
      // A request_id must stay known for at least a day (AIP-155 retries).
      Durations("--journal_retention", c.journal_retention, Hours(24),
                Hours(24 * 90)),
      // 0 would refuse every borrow behind the one in flight.
      Integers("--risk_unit_queue_limit", c.risk_unit_queue_limit, 1, 1024),
      // The records endpoint costs weight 10 per IP: not a tight loop.
      Durations("--reconcile_interval", c.reconcile_interval, Milliseconds(200),
                Hours(1)),
      // Binance records appear within about a second; less than 2 s after an
      // attempt's window would call a borrow not executed too early.
      Durations("--reconcile_settle_after", c.reconcile_settle_after,
                Seconds(2), Hours(24)),
      Durations("--drain_timeout", c.drain_timeout, Seconds(1), Minutes(10)),
      // Weight 10 per IP each: at most 10 a second.
      Durations("--upstream_probe_interval", c.upstream_probe_interval,
                Seconds(1), Hours(1)),
      Integers("--max_grpc_connections", c.max_grpc_connections, 1, 65536),
      Integers("--max_metrics_connections", c.max_metrics_connections, 1, 256),
      Integers("--grpc_max_message_bytes", c.grpc_max_message_bytes, 1024,
               4 * 1024 * 1024),
      Integers("--grpc_max_concurrent_streams", c.grpc_max_concurrent_streams,
               1, 1000),
      Durations("--grpc_handshake_timeout", c.grpc_handshake_timeout,
                Milliseconds(100), Seconds(60)),
      Durations("--grpc_max_connection_idle", c.grpc_max_connection_idle,
                Seconds(1), Hours(24)),
      Durations("--grpc_min_client_ping_interval",
                c.grpc_min_client_ping_interval, Seconds(1), Hours(1)),
  };
}

absl::Status ValidateSettingRanges(const GatewayConfig& c) {
  for (const SettingRange& r : CheckSettingRanges(c)) {
    if (!r.ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(r.flag, " must be in ", r.range, ", got ", r.value));
    }
  }
  // A borrow in flight when SIGTERM arrives must be able to finish (and be
  // journaled and answered) within the drain.
  if (c.upstream_timeout + absl::Milliseconds(500) > c.drain_timeout) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--upstream_timeout (", absl::FormatDuration(c.upstream_timeout),
        ") must be at least 500ms shorter than --drain_timeout (",
        absl::FormatDuration(c.drain_timeout),
        "): a borrow in flight at SIGTERM must finish within the drain"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCaFile(const std::string& path) {
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--upstream_ca_file ", path, " cannot be read"));
  }
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--upstream_ca_file ", path, " holds no PEM certificate"));
  }
  X509_free(cert);
  return absl::OkStatus();
}

}  // namespace loan_gateway
