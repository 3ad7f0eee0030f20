#include "clock/server_time.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

class ManualClock : public Clock {
 public:
  absl::Time Now() const override { return now; }
  absl::Time now = absl::FromUnixMillis(1'700'000'000'000);
};

// Answers GET /api/v3/time with a canned result, advancing the clock by the
// round trip it simulates.
class CannedTransport : public HttpTransport {
 public:
  explicit CannedTransport(ManualClock& clock) : clock_(clock) {}
  void Send(HttpRequest request,
            std::function<void(HttpResult)> done) override {
    urls.push_back(request.url);
    clock_.now += round_trip;
    done(result);
  }
  HttpResult result;
  absl::Duration round_trip = absl::Milliseconds(40);
  std::vector<std::string> urls;

 private:
  ManualClock& clock_;
};

TEST(ServerTimeTest, MeasuresOffsetFromTheRoundTripMidpoint) {
  ManualClock clock;
  CannedTransport transport(clock);
  // Binance is 2500 ms ahead at the midpoint of the 40 ms round trip.
  const int64_t server_ms = absl::ToUnixMillis(clock.now) + 20 + 2500;
  transport.result = {Delivery::kCompleted,
                      200,
                      {},
                      absl::StrCat("{\"serverTime\":", server_ms, "}"),
                      "",
                      {}};
  ServerTime time(clock, transport, {"https://fake"});
  EXPECT_FALSE(time.NowMs().ok()) << "unknown before the first sync";
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  EXPECT_EQ(transport.urls,
            std::vector<std::string>{"https://fake/api/v3/time"});
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(2500));
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  EXPECT_EQ(*time.NowMs(), absl::ToUnixMillis(clock.now) + 2500);
}

TEST(ServerTimeTest, FailedSyncKeepsThePreviousOffset) {
  ManualClock clock;
  CannedTransport transport(clock);
  transport.result = {
      Delivery::kCompleted, 200, {}, R"({"serverTime":1700000000020})", "", {}};
  ServerTime time(clock, transport, {"https://fake"});
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  transport.result = {Delivery::kNotSent, 0, {}, "", "Couldn't connect", {}};
  EXPECT_EQ(time.Sync(absl::Seconds(1)).code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(time.offset().has_value());
  transport.result = {Delivery::kCompleted, 200, {}, "<html>", "", {}};
  EXPECT_FALSE(time.Sync(absl::Seconds(1)).ok());
}

TEST(ParseServerTimeTest, ReadsTheField) {
  EXPECT_EQ(*ParseServerTime(R"({"serverTime": 1499827319559})"),
            1499827319559);
  EXPECT_FALSE(ParseServerTime(R"({"serverTime":"x"})").ok());
  EXPECT_FALSE(ParseServerTime("").ok());
  EXPECT_FALSE(ParseServerTime(R"({"time":1})").ok());
}

}  // namespace
}  // namespace loan_gateway
