#ifndef LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_
#define LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace loan_gateway {

// Values read from the gateway's parts at each scrape.
struct GatewayGauges {
  int64_t uid_weight_used = 0;
  int64_t uid_weight_limit = 0;
  int64_t ip_weight_used = 0;  // Signed reads' IP weight this minute.
  std::optional<double> clock_offset_seconds;
  std::optional<double> clock_uncertainty_seconds;
  bool breaker_open = false;
  int64_t unknown_pending =
      0;  // Journal records PENDING/UNKNOWN, not in flight.
  int64_t calls_in_flight = 0;
  // Unsettled records reconciliation cannot attribute unambiguously.
  int64_t ambiguous_pending = 0;
  bool journal_intact = true;  // The journal file is still the one opened.
  bool journal_writer = true;  // May write (holds its replica lock).
  int64_t grpc_connections = 0;
  int64_t grpc_connections_refused = 0;  // Counters kept by the acceptor.
  int64_t grpc_accept_failures = 0;
  int64_t open_files = 0;
  std::string version;          // loan_gateway_build_info{version=...} 1
  bool upstream_ready = false;  // The last signed probe read succeeded.
  std::optional<double> clock_sync_age_seconds;  // None: never synced.
  int64_t reconcile_errors = 0;                  // A counter.
  int64_t policy_reload_failures = 0;            // A counter.
  int64_t key_reload_failures = 0;               // A counter.
  int64_t audit_write_failures = 0;              // A counter.
  int64_t audit_records = 0;  // The audit log's head seq (a counter).
  bool borrowing_halted = false;
};

// The gateway's Prometheus metrics on prometheus-cpp: counters and
// histograms recorded as calls happen, gauges read at each scrape (a
// Collectable over GatewayGauges). Thread-safe.
class GatewayMetrics {
 public:
  explicit GatewayMetrics(std::function<GatewayGauges()> gauges);

  void RecordCall(const std::string& outcome, const std::string& reason,
                  absl::Duration total);
  // A repeat answered from the journal (or from the call in flight): not a
  // new borrow, so counted apart from RecordCall.
  void RecordReplay(const std::string& outcome);
  // A Borrow call by caller: the identity the policy admitted (a bounded
  // set: the policy's), "not_admitted" for one it refused or could not
  // name, "insecure_sandbox" without a policy.
  void RecordCallerCall(const std::string& caller, const std::string& outcome);
  // An executed borrow's amount, summed exactly (in 1e-8 units) per asset;
  // exported as a number for dashboards, never read back for accounting.
  void RecordBorrowed(const std::string& asset, const std::string& amount);
  void RecordUpstream(std::optional<int64_t> binance_code, long http_status,
                      absl::Duration latency);
  void RecordJournalWrite(absl::Duration latency);
  // A direct answer took back a transaction id reconciliation had given to
  // another record (an alarm: that record is UNKNOWN again).
  void RecordReopened();

  // What an exposer serves: the recorded metrics and the scraped gauges.
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables() const;

  // The Prometheus text exposition format, version 0.0.4 (tests, tools).
  std::string Render() const;

 private:
  class ScrapedGauges;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ScrapedGauges> gauges_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Counter>& binance_codes_;
  prometheus::Family<prometheus::Counter>& http_statuses_;
  prometheus::Histogram& call_seconds_;
  prometheus::Histogram& upstream_seconds_;
  prometheus::Histogram& journal_write_seconds_;
  prometheus::Counter& reopened_;
  prometheus::Family<prometheus::Counter>& replays_;
  prometheus::Family<prometheus::Counter>& caller_calls_;
  class BorrowedAmounts;
  std::shared_ptr<BorrowedAmounts> borrowed_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_METRICS_GATEWAY_METRICS_H_
