#include "metrics/gateway_metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace loan_gateway {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

prometheus::Histogram& AddHistogram(prometheus::Registry& registry,
                                    const std::string& name,
                                    const std::string& help) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(registry)
      .Add({}, Buckets());
}

prometheus::Family<prometheus::Counter>& AddCounters(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

MetricFamily One(const std::string& name, const std::string& help,
                 MetricType type, double value) {
  MetricFamily family{name, help, type, {}};
  prometheus::ClientMetric metric;
  if (type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

// loan_gateway_build_info{version="..."} 1: which build is running.
MetricFamily BuildInfo(const std::string& version) {
  MetricFamily family = One("loan_gateway_build_info",
                            "1, labelled with the running build's version.",
                            MetricType::Gauge, 1);
  family.metric[0].label.push_back({"version", version});
  return family;
}

// "1234.5" -> 123450000000 (1e-8 units), exactly; nullopt if not a plain
// decimal with at most 8 fraction digits.
std::optional<int64_t> Units(const std::string& amount) {
  const size_t dot = amount.find('.');
  const std::string whole = amount.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : amount.substr(dot + 1);
  if (whole.empty() || whole.size() > 10 || fraction.size() > 8) {
    return std::nullopt;
  }
  fraction.resize(8, '0');
  int64_t units = 0;
  for (char c : whole + fraction) {
    if (c < '0' || c > '9') return std::nullopt;
    units = units * 10 + (c - '0');
  }
  return units;
}

}  // namespace

// The values only the gateway's parts know, read at each scrape.
class GatewayMetrics::ScrapedGauges : public prometheus::Collectable {
 public:
  explicit ScrapedGauges(std::function<GatewayGauges()> read)
      : read_(std::move(read)) {}

  std::vector<MetricFamily> Collect() const override {
    const GatewayGauges g = read_();
    std::vector<MetricFamily> families = Always(g);
    // Absent until measured (a NaN would plot as a gap and alert on nothing).
    if (g.clock_offset_seconds) {
      families.push_back(
          One("loan_gateway_clock_offset_seconds",
              "Binance server time minus local time (absent until measured).",
              MetricType::Gauge, *g.clock_offset_seconds));
    }
    if (g.clock_uncertainty_seconds) {
      families.push_back(
          One("loan_gateway_clock_uncertainty_seconds",
              "Uncertainty of the offset (half the measuring round trip).",
              MetricType::Gauge, *g.clock_uncertainty_seconds));
    }
    return families;
  }

 private:
  static std::vector<MetricFamily> Always(const GatewayGauges& g) {
    const MetricType gauge = MetricType::Gauge;
    const MetricType counter = MetricType::Counter;
    return {
        One("loan_gateway_uid_weight_used",
            "SAPI UID weight used this minute on the credit account.", gauge,
            g.uid_weight_used),
        One("loan_gateway_ip_weight_used",
            "SAPI IP weight this gateway's signed reads used this minute "
            "(GetMaxBorrowable 100, GetRiskUnit 3000).",
            gauge, g.ip_weight_used),
        One("loan_gateway_uid_weight_remaining",
            "SAPI UID weight left this minute (a borrow costs 3000).", gauge,
            g.uid_weight_limit - g.uid_weight_used),
        One("loan_gateway_clock_sync_age_seconds",
            "Time since Binance's clock was last read (+Inf: never).", gauge,
            g.clock_sync_age_seconds ? *g.clock_sync_age_seconds
                                     : std::numeric_limits<double>::infinity()),
        One("loan_gateway_reconcile_errors_total",
            "Reads of Binance's borrow records that failed during "
            "reconciliation.",
            counter, g.reconcile_errors),
        One("loan_gateway_policy_reload_failures_total",
            "New --policy_file versions refused (the last good policy stayed "
            "in force).",
            counter, g.policy_reload_failures),
        One("loan_gateway_key_reload_failures_total",
            "New --api_key_file/--private_key_file pairs refused (the key in "
            "force stayed).",
            counter, g.key_reload_failures),
        One("loan_gateway_audit_write_failures_total",
            "Audit records that could not be written; from the first, nothing "
            "is signed until a restart (fail closed).",
            counter, g.audit_write_failures),
        One("loan_gateway_audit_records_total",
            "The audit log's last durable record (its seq).", counter,
            g.audit_records),
        One("loan_gateway_borrowing_halted",
            "1 while the kill switch halts borrowing.", gauge,
            g.borrowing_halted ? 1 : 0),
        One("loan_gateway_ban_breaker_open",
            "1 while borrows are held after a 429/418/403.", gauge,
            g.breaker_open ? 1 : 0),
        One("loan_gateway_unknown_outcomes_pending",
            "Borrows whose outcome awaits reconciliation.", gauge,
            g.unknown_pending),
        One("loan_gateway_borrow_calls_in_flight",
            "Borrow calls not answered yet.", gauge, g.calls_in_flight),
        One("loan_gateway_reconcile_ambiguous",
            "Unsettled borrows whose Binance record could belong to more than "
            "one attempt, or one attempt with more than one record (an "
            "operator decides; GetBorrow says why).",
            gauge, g.ambiguous_pending),
        One("loan_gateway_journal_intact",
            "1 while the journal file is the one the gateway opened; 0 once it "
            "was deleted or replaced (nothing is signed then).",
            gauge, g.journal_intact ? 1 : 0),
        One("loan_gateway_journal_writer",
            "1 while this gateway may write the journal; 0 while it cannot "
            "(--journal_url: its lost session still holds its replica lock).",
            gauge, g.journal_writer ? 1 : 0),
        One("loan_gateway_grpc_connections",
            "gRPC connections open now (capped by --max_grpc_connections).",
            gauge, g.grpc_connections),
        One("loan_gateway_grpc_connections_refused_total",
            "gRPC connections closed at once because the cap was reached.",
            counter, g.grpc_connections_refused),
        One("loan_gateway_grpc_accept_failures_total",
            "accept() failures on the gRPC port (out of descriptors or "
            "memory); each is retried.",
            counter, g.grpc_accept_failures),
        One("loan_gateway_open_files", "descriptors the process has open.",
            gauge, g.open_files),
        BuildInfo(g.version),
        One("loan_gateway_upstream_ready",
            "1 while Binance answers a signed read with this key (health is "
            "NOT_SERVING otherwise; the log says why).",
            gauge, g.upstream_ready ? 1 : 0),
    };
  }

 private:
  const std::function<GatewayGauges()> read_;
};

// Executed amounts per asset, summed exactly in 1e-8 units; only the
// exposition turns them into a number.
class GatewayMetrics::BorrowedAmounts : public prometheus::Collectable {
 public:
  void Add(const std::string& asset, int64_t units) {
    absl::MutexLock lock(&mu_);
    units_[asset] += units;
  }
  std::vector<MetricFamily> Collect() const override {
    MetricFamily family{"loan_gateway_borrowed_amount_total",
                        "Amount borrowed per asset since start (executed "
                        "borrows; for dashboards, the journal is the record).",
                        MetricType::Counter,
                        {}};
    absl::MutexLock lock(&mu_);
    for (const auto& [asset, units] : units_) {
      prometheus::ClientMetric metric;
      metric.label.push_back({"asset", asset});
      metric.counter.value = static_cast<double>(units / 100000000) +
                             static_cast<double>(units % 100000000) / 1e8;
      family.metric.push_back(metric);
    }
    return {family};
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t> units_ ABSL_GUARDED_BY(mu_);
};

GatewayMetrics::GatewayMetrics(std::function<GatewayGauges()> gauges)
    : registry_(std::make_shared<prometheus::Registry>()),
      gauges_(std::make_shared<ScrapedGauges>(std::move(gauges))),
      calls_(AddCounters(*registry_, "loan_gateway_borrow_calls_total",
                         "Borrow calls answered, by outcome "
                         "(SUCCEEDED|REJECTED|UNKNOWN) and reason.")),
      binance_codes_(
          AddCounters(*registry_, "loan_gateway_binance_codes_total",
                      "Binance error codes seen in answers to borrows.")),
      http_statuses_(AddCounters(
          *registry_, "loan_gateway_upstream_responses_total",
          "Borrow exchanges with Binance by HTTP status (0: no HTTP "
          "answer).")),
      call_seconds_(
          AddHistogram(*registry_, "loan_gateway_borrow_call_seconds",
                       "Total time of a Borrow call in the gateway.")),
      upstream_seconds_(
          AddHistogram(*registry_, "loan_gateway_upstream_seconds",
                       "Time of one borrow exchange with Binance.")),
      journal_write_seconds_(
          AddHistogram(*registry_, "loan_gateway_journal_write_seconds",
                       "Time of one journal commit: a group of writes made "
                       "durable together (fsync included).")),
      reopened_(AddCounters(*registry_, "loan_gateway_reconcile_reopened_total",
                            "Records reopened because Binance's direct answer "
                            "named the transaction reconciliation had "
                            "attributed to them.")
                    .Add({})),
      replays_(AddCounters(*registry_, "loan_gateway_borrow_replays_total",
                           "Repeats of a request_id answered from the journal "
                           "or from the call in flight (not new borrows).")),
      caller_calls_(
          AddCounters(*registry_, "loan_gateway_caller_borrow_calls_total",
                      "Borrow calls by the caller the access policy admitted "
                      "(not_admitted: refused or unnamed) and outcome.")),
      borrowed_(std::make_shared<BorrowedAmounts>()) {}

void GatewayMetrics::RecordCall(const std::string& outcome,
                                const std::string& reason,
                                absl::Duration total) {
  calls_.Add({{"outcome", outcome}, {"reason", reason}}).Increment();
  call_seconds_.Observe(absl::ToDoubleSeconds(total));
}

void GatewayMetrics::RecordCallerCall(const std::string& caller,
                                      const std::string& outcome) {
  caller_calls_.Add({{"caller", caller}, {"outcome", outcome}}).Increment();
}

void GatewayMetrics::RecordReplay(const std::string& outcome) {
  replays_.Add({{"outcome", outcome}}).Increment();
}

void GatewayMetrics::RecordBorrowed(const std::string& asset,
                                    const std::string& amount) {
  if (const std::optional<int64_t> units = Units(amount)) {
    borrowed_->Add(asset, *units);
  }
}

void GatewayMetrics::RecordUpstream(std::optional<int64_t> binance_code,
                                    long http_status, absl::Duration latency) {
  if (binance_code) {
    binance_codes_.Add({{"code", absl::StrCat(*binance_code)}}).Increment();
  }
  http_statuses_.Add({{"http_status", absl::StrCat(http_status)}}).Increment();
  upstream_seconds_.Observe(absl::ToDoubleSeconds(latency));
}

void GatewayMetrics::RecordJournalWrite(absl::Duration latency) {
  journal_write_seconds_.Observe(absl::ToDoubleSeconds(latency));
}

void GatewayMetrics::RecordReopened() { reopened_.Increment(); }

std::vector<std::weak_ptr<prometheus::Collectable>>
GatewayMetrics::collectables() const {
  return {registry_, gauges_, borrowed_};
}

std::string GatewayMetrics::Render() const {
  std::vector<MetricFamily> families = registry_->Collect();
  for (MetricFamily& f : gauges_->Collect()) families.push_back(std::move(f));
  for (MetricFamily& f : borrowed_->Collect()) families.push_back(std::move(f));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace loan_gateway
