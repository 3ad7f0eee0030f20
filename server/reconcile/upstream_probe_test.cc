#include "reconcile/upstream_probe.h"

#include <atomic>

#include "gtest/gtest.h"
#include "http/http_transport.h"
#include "reconcile/signed_reader.h"

namespace loan_gateway {
namespace {

TEST(UpstreamProbeTest, ReportsTheLastReadAndRetriesFailuresQuickly) {
  std::atomic<int> reads{0};
  UpstreamProbe probe(
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

}  // namespace
}  // namespace loan_gateway
