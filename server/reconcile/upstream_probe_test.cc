#include "reconcile/upstream_probe.h"

#include <atomic>

#include "gtest/gtest.h"
#include "http/http_transport.h"
#include "reconcile/signed_reader.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

TEST(UpstreamProbeTest, ReportsTheLastReadAndRetriesFailuresQuickly) {
  std::atomic<int> reads{0};
  WatchThread watch("lg-test-watch");
  UpstreamProbe probe(
      watch,
      [&] {
        return ++reads < 3 ? absl::UnavailableError("HTTP 404")
                           : absl::OkStatus();
      },
      absl::Hours(1));
  probe.AwaitFirst(absl::Seconds(2));
  EXPECT_FALSE(probe.status().ok());
  EXPECT_EQ(probe.status().message(), "HTTP 404");
  for (int i = 0; i < 40 && !probe.status().ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(50));  // Retries every 250 ms.
  }
  EXPECT_TRUE(probe.status().ok());
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_EQ(reads.load(), 3) << "after success it waits the interval";
}

TEST(DescribeFailedReadTest, SaysWhatHappenedWithoutTheUrl) {
  HttpResult unreachable;
  unreachable.delivery = Delivery::kNotSent;
  unreachable.error = "Couldn't connect to server (curl 7)";
  EXPECT_EQ(DescribeFailedRead(unreachable),
            "unreachable (Couldn't connect to server (curl 7))");
  HttpResult refused;
  refused.delivery = Delivery::kCompleted;
  refused.status = 401;
  refused.body =
      R"({"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."})";
  EXPECT_EQ(DescribeFailedRead(refused),
            "HTTP 401, Binance code -2015: Invalid API-key, IP, or permissions "
            "for action.");
  HttpResult missing;
  missing.delivery = Delivery::kCompleted;
  missing.status = 404;
  missing.body = "<html>Not Found</html>";
  EXPECT_NE(DescribeFailedRead(missing).find("HTTP 404 (no such endpoint"),
            std::string::npos);
}

// Every signed read takes this gateway's IP weight first: when it is spent
// the read fails at once and nothing is sent.
TEST(SignedReaderTest, AReadTakesTheIpWeightOrIsNotSent) {
  test_doubles::ManualClock clock;
  test_doubles::ScriptedTransport transport;
  transport.script.push_back({Delivery::kCompleted,
                              200,
                              {},
                              R"({"serverTime":1700000000000})",
                              "",
                              {}});
  BinanceClock binance_clock(clock, transport, {"https://a"});
  ASSERT_TRUE(binance_clock.Sync(absl::Seconds(1)).ok());
  transport.sent.clear();
  Secret key("key");
  test_doubles::ConstantSigner signer;
  // Room for exactly one records read (10) this minute.
  WeightBudget ip(clock, SignedReader::kRecordsWeight,
                  SignedReader::kRecordsWeight, WeightBudget::Scope::kIp);
  SignedReader reader({"https://a"}, 5000, transport, binance_clock,
                      {.api_key = &key, .signer = &signer}, &ip);
  transport.script.push_back(
      {Delivery::kCompleted, 200, {}, R"({"rows":[],"total":0})", "", {}});
  EXPECT_TRUE(reader.Get("/sapi/v1/margin/loan-group/borrow-repay", {}).ok());
  absl::StatusOr<std::string> second =
      reader.Get("/sapi/v1/margin/loan-group/borrow-repay", {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(second.status().message().find("IP weight"), std::string::npos)
      << second.status();
  EXPECT_EQ(transport.sent.size(), 1u) << "the refused read was not sent";
}

}  // namespace
}  // namespace loan_gateway
