#include "metrics/gateway_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loan_gateway {
namespace {

void Header(std::string& out, const char* name, const char* type,
            const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

std::string Number(double v) { return absl::StrFormat("%.9g", v); }

}  // namespace

void GatewayMetrics::Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++counts[i];
  }
  ++count;
  sum += seconds;
}

void GatewayMetrics::Histogram::Render(std::string& out,
                                       const std::string& name) const {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    absl::StrAppend(&out, name, "_bucket{le=\"", Number(kBuckets[i]), "\"} ",
                    counts[i], "\n");
  }
  absl::StrAppend(&out, name, "_bucket{le=\"+Inf\"} ", count, "\n", name,
                  "_sum ", Number(sum), "\n", name, "_count ", count, "\n");
}

void GatewayMetrics::RecordCall(const std::string& outcome,
                                const std::string& reason,
                                absl::Duration total) {
  absl::MutexLock lock(&mu_);
  ++calls_[{outcome, reason}];
  call_latency_.Observe(absl::ToDoubleSeconds(total));
}

void GatewayMetrics::RecordUpstream(std::optional<int64_t> binance_code,
                                    long http_status, absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  if (binance_code) ++binance_codes_[absl::StrCat(*binance_code)];
  ++http_statuses_[http_status];
  upstream_latency_.Observe(absl::ToDoubleSeconds(latency));
}

void GatewayMetrics::RecordJournalWrite(absl::Duration latency) {
  absl::MutexLock lock(&mu_);
  journal_write_.Observe(absl::ToDoubleSeconds(latency));
}

void GatewayMetrics::RecordReopened() {
  absl::MutexLock lock(&mu_);
  ++reopened_;
}

void GatewayMetrics::RenderTransport(const GatewayGauges& g, std::string& out) {
  Header(out, "loan_gateway_grpc_connections", "gauge",
         "gRPC connections open now (capped by --max_grpc_connections).");
  absl::StrAppend(&out, "loan_gateway_grpc_connections ", g.grpc_connections,
                  "\n");
  Header(out, "loan_gateway_grpc_connections_refused_total", "counter",
         "gRPC connections closed at once because the cap was reached.");
  absl::StrAppend(&out, "loan_gateway_grpc_connections_refused_total ",
                  g.grpc_connections_refused, "\n");
  Header(out, "loan_gateway_grpc_accept_failures_total", "counter",
         "accept() failures on the gRPC port (out of descriptors or memory); "
         "each is retried.");
  absl::StrAppend(&out, "loan_gateway_grpc_accept_failures_total ",
                  g.grpc_accept_failures, "\n");
  Header(out, "loan_gateway_open_files", "gauge",
         "descriptors the process has open.");
  absl::StrAppend(&out, "loan_gateway_open_files ", g.open_files, "\n");
}

std::string GatewayMetrics::Render() const {
  const GatewayGauges g = gauges_ ? gauges_() : GatewayGauges{};
  std::string out;
  absl::MutexLock lock(&mu_);
  Header(out, "loan_gateway_borrow_calls_total", "counter",
         "Borrow calls answered, by outcome (SUCCEEDED|REJECTED|UNKNOWN) and "
         "reason.");
  for (const auto& [key, n] : calls_) {
    absl::StrAppend(&out, "loan_gateway_borrow_calls_total{outcome=\"",
                    key.first, "\",reason=\"", key.second, "\"} ", n, "\n");
  }
  Header(out, "loan_gateway_binance_codes_total", "counter",
         "Binance error codes seen in answers to borrows.");
  for (const auto& [code, n] : binance_codes_) {
    absl::StrAppend(&out, "loan_gateway_binance_codes_total{code=\"", code,
                    "\"} ", n, "\n");
  }
  Header(out, "loan_gateway_upstream_responses_total", "counter",
         "Borrow exchanges with Binance by HTTP status (0: no HTTP answer).");
  for (const auto& [status, n] : http_statuses_) {
    absl::StrAppend(&out,
                    "loan_gateway_upstream_responses_total{http_status=\"",
                    status, "\"} ", n, "\n");
  }
  Header(out, "loan_gateway_borrow_call_seconds", "histogram",
         "Total time of a Borrow call in the gateway.");
  call_latency_.Render(out, "loan_gateway_borrow_call_seconds");
  Header(out, "loan_gateway_upstream_seconds", "histogram",
         "Time of one borrow exchange with Binance.");
  upstream_latency_.Render(out, "loan_gateway_upstream_seconds");
  Header(out, "loan_gateway_journal_write_seconds", "histogram",
         "Time of one durable journal write (fsync included).");
  journal_write_.Render(out, "loan_gateway_journal_write_seconds");
  Header(out, "loan_gateway_uid_weight_used", "gauge",
         "SAPI UID weight used this minute on the credit account.");
  absl::StrAppend(&out, "loan_gateway_uid_weight_used ", g.uid_weight_used,
                  "\n");
  Header(out, "loan_gateway_uid_weight_remaining", "gauge",
         "SAPI UID weight left this minute (a borrow costs 3000).");
  absl::StrAppend(&out, "loan_gateway_uid_weight_remaining ",
                  g.uid_weight_limit - g.uid_weight_used, "\n");
  Header(out, "loan_gateway_clock_offset_seconds", "gauge",
         "Binance server time minus local time (NaN until measured).");
  absl::StrAppend(
      &out, "loan_gateway_clock_offset_seconds ",
      g.clock_offset_seconds ? Number(*g.clock_offset_seconds) : "NaN", "\n");
  Header(out, "loan_gateway_clock_uncertainty_seconds", "gauge",
         "Uncertainty of the offset (half the measuring round trip).");
  absl::StrAppend(&out, "loan_gateway_clock_uncertainty_seconds ",
                  g.clock_uncertainty_seconds
                      ? Number(*g.clock_uncertainty_seconds)
                      : "NaN",
                  "\n");
  Header(out, "loan_gateway_ban_breaker_open", "gauge",
         "1 while borrows are held after a 429/418/403.");
  absl::StrAppend(&out, "loan_gateway_ban_breaker_open ",
                  g.breaker_open ? 1 : 0, "\n");
  Header(out, "loan_gateway_unknown_outcomes_pending", "gauge",
         "Borrows whose outcome awaits reconciliation.");
  absl::StrAppend(&out, "loan_gateway_unknown_outcomes_pending ",
                  g.unknown_pending, "\n");
  Header(out, "loan_gateway_borrow_calls_in_flight", "gauge",
         "Borrow calls not answered yet.");
  absl::StrAppend(&out, "loan_gateway_borrow_calls_in_flight ",
                  g.calls_in_flight, "\n");
  Header(out, "loan_gateway_reconcile_ambiguous", "gauge",
         "Unsettled borrows whose Binance record could belong to more than one "
         "attempt, or one attempt with more than one record (an operator "
         "decides; GetBorrow says why).");
  absl::StrAppend(&out, "loan_gateway_reconcile_ambiguous ",
                  g.ambiguous_pending, "\n");
  Header(out, "loan_gateway_reconcile_reopened_total", "counter",
         "Records reopened because Binance's direct answer named the "
         "transaction reconciliation had attributed to them.");
  absl::StrAppend(&out, "loan_gateway_reconcile_reopened_total ", reopened_,
                  "\n");
  Header(out, "loan_gateway_journal_intact", "gauge",
         "1 while the journal file is the one the gateway opened; 0 once it "
         "was deleted or replaced (nothing is signed then).");
  absl::StrAppend(&out, "loan_gateway_journal_intact ",
                  g.journal_intact ? 1 : 0, "\n");
  RenderTransport(g, out);
  return out;
}

}  // namespace loan_gateway
