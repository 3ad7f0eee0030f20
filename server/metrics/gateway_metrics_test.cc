#include "metrics/gateway_metrics.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(GatewayMetricsTest, RendersCountersHistogramsAndGauges) {
  GatewayMetrics metrics([] {
    GatewayGauges g;
    g.uid_weight_used = 6000;
    g.uid_weight_limit = 180000;
    g.clock_offset_seconds = 0.25;
    g.clock_uncertainty_seconds = 0.002;
    g.breaker_open = true;
    g.unknown_pending = 3;
    g.key_reload_failures = 2;
    return g;
  });
  metrics.RecordCall("SUCCEEDED", "SUCCEEDED", absl::Milliseconds(3));
  metrics.RecordCall("REJECTED", "BORROW_LIMIT_EXCEEDED",
                     absl::Milliseconds(30));
  metrics.RecordCall("REJECTED", "BORROW_LIMIT_EXCEEDED",
                     absl::Milliseconds(30));
  metrics.RecordUpstream(-27009, 400, absl::Milliseconds(20));
  metrics.RecordJournalWrite(absl::Microseconds(800));
  const std::string text = metrics.Render();
  // Split literals are deliberate: each element is one whole sample line.
  // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
  for (const char* line :
       {"loan_gateway_borrow_calls_total{outcome=\"REJECTED\",reason=\"BORROW_"
        "LIMIT_EXCEEDED\"} 2\n",
        "loan_gateway_borrow_calls_total{outcome=\"SUCCEEDED\",reason="
        "\"SUCCEEDED\"} 1\n",
        "loan_gateway_binance_codes_total{code=\"-27009\"} 1\n",
        "loan_gateway_upstream_responses_total{http_status=\"400\"} 1\n",
        "loan_gateway_borrow_call_seconds_bucket{le=\"0.005\"} 1\n",
        "loan_gateway_borrow_call_seconds_bucket{le=\"+Inf\"} 3\n",
        "loan_gateway_borrow_call_seconds_count 3\n",
        "loan_gateway_journal_write_seconds_bucket{le=\"0.001\"} 1\n",
        "loan_gateway_uid_weight_used 6000\n",
        "loan_gateway_uid_weight_remaining 174000\n",
        "loan_gateway_clock_offset_seconds 0.25\n",
        "loan_gateway_ban_breaker_open 1\n",
        "loan_gateway_unknown_outcomes_pending 3\n",
        "loan_gateway_key_reload_failures_total 2\n",
        "# TYPE loan_gateway_upstream_seconds histogram\n"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\nin\n" << text;
  }
}

TEST(GatewayMetricsTest, ReplaysBorrowedAmountsAndTheClockBeforeItsFirstSync) {
  GatewayMetrics metrics([] { return GatewayGauges{}; });  // Never synced.
  metrics.RecordCall("SUCCEEDED", "SUCCEEDED", absl::Milliseconds(3));
  metrics.RecordBorrowed("USDT", "1000.5");
  metrics.RecordBorrowed("USDT", "0.00000001");
  metrics.RecordBorrowed("USDC", "7");
  metrics.RecordReplay("SUCCEEDED");
  metrics.RecordCallerCall("spiffe://lg/ns/t/sa/r", "SUCCEEDED");
  const std::string text = metrics.Render();
  for (const char* line :
       {"loan_gateway_borrow_replays_total{outcome=\"SUCCEEDED\"} 1\n",
        "loan_gateway_caller_borrow_calls_total{caller=\"spiffe://lg/ns/t/sa/"
        "r\",outcome=\"SUCCEEDED\"} 1\n",
        "loan_gateway_borrow_calls_total{outcome=\"SUCCEEDED\",reason="
        "\"SUCCEEDED\"} 1\n",
        "loan_gateway_borrowed_amount_total{asset=\"USDT\"} 1000.50000001\n",
        "loan_gateway_borrowed_amount_total{asset=\"USDC\"} 7\n",
        "loan_gateway_clock_sync_age_seconds +Inf\n"}) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\nin\n" << text;
  }
  // No NaN series before the first sync: absent until measured.
  EXPECT_FALSE(absl::StrContains(text, "loan_gateway_clock_offset_seconds"));
  EXPECT_FALSE(absl::StrContains(text, "NaN"));
  EXPECT_FALSE(absl::StrContains(text, "Nan"));
}

}  // namespace
}  // namespace loan_gateway
