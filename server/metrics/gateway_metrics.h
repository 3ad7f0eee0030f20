#ifndef LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_
#define LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace loan_gateway {

// Values read at scrape time from the modules that own them.
struct GatewayGauges {
  int64_t uid_weight_used = 0;
  int64_t uid_weight_limit = 0;
  std::optional<double> clock_offset_seconds;
  std::optional<double> clock_uncertainty_seconds;
  bool breaker_open = false;
  int64_t unknown_pending =
      0;  // Journal records PENDING/UNKNOWN, not in flight.
  int64_t calls_in_flight = 0;
  // Unsettled records reconciliation cannot attribute unambiguously.
  int64_t ambiguous_pending = 0;
  bool journal_intact = true;  // The journal file is still the one opened.
  int64_t grpc_connections = 0;
  int64_t grpc_connections_refused = 0;
  int64_t grpc_accept_failures = 0;
  int64_t open_files = 0;
};

// The gateway's Prometheus metrics (prometheus-cpp is not packaged for
// Debian 12; the text format is small). Thread-safe.
class GatewayMetrics {
 public:
  explicit GatewayMetrics(std::function<GatewayGauges()> gauges)
      : gauges_(std::move(gauges)) {}

  void RecordCall(const std::string& outcome, const std::string& reason,
                  absl::Duration total);
  void RecordUpstream(std::optional<int64_t> binance_code, long http_status,
                      absl::Duration latency);
  void RecordJournalWrite(absl::Duration latency);
  // A direct answer took back a transaction id reconciliation had given to
  // another record (an alarm: that record is UNKNOWN again).
  void RecordReopened();

  // The Prometheus text exposition format, version 0.0.4.
  std::string Render() const;

 private:
  static void RenderTransport(const GatewayGauges& g, std::string& out);
  static constexpr std::array<double, 13> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void Observe(double seconds);
    void Render(std::string& out, const std::string& name) const;
  };

  const std::function<GatewayGauges()> gauges_;
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> calls_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> binance_codes_ ABSL_GUARDED_BY(mu_);
  std::map<long, uint64_t> http_statuses_ ABSL_GUARDED_BY(mu_);
  Histogram call_latency_ ABSL_GUARDED_BY(mu_);
  Histogram upstream_latency_ ABSL_GUARDED_BY(mu_);
  Histogram journal_write_ ABSL_GUARDED_BY(mu_);
  uint64_t reopened_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_
