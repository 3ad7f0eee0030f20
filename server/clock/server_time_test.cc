#include "clock/server_time.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ManualClock;
using ::loan_gateway::test_doubles::ScriptedTransport;

using ::loan_gateway::test_doubles::Answer;

// A transport whose every exchange takes a 40 ms round trip on `clock`.
ScriptedTransport SlowTransport(ManualClock& clock) {
  ScriptedTransport transport;
  transport.on_send = [&clock] { clock.now += absl::Milliseconds(40); };
  return transport;
}

TEST(ServerTimeTest, MeasuresOffsetFromTheRoundTripMidpoint) {
  ManualClock clock;
  ScriptedTransport transport = SlowTransport(clock);
  // Binance is 2500 ms ahead at the midpoint of the 40 ms round trip.
  const int64_t server_ms = absl::ToUnixMillis(clock.now) + 20 + 2500;
  transport.script.push_back(
      Answer(200, absl::StrCat("{\"serverTime\":", server_ms, "}")));
  ServerTime time(clock, transport, {"https://fake"});
  EXPECT_FALSE(time.NowMs().ok()) << "unknown before the first sync";
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].url, "https://fake/api/v3/time");
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(2500));
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  EXPECT_EQ(*time.NowMs(), absl::ToUnixMillis(clock.now) + 2500);
}

TEST(ServerTimeTest, FailedSyncKeepsThePreviousOffsetAndTriesEveryBaseUrl) {
  ManualClock clock;
  ScriptedTransport transport = SlowTransport(clock);
  transport.script.push_back(Answer(200, R"({"serverTime":1700000000020})"));
  ServerTime time(clock, transport, {"https://a", "https://b"});
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  transport.script.push_back(
      {Delivery::kNotSent, 0, {}, "", "Couldn't connect", {}});
  transport.script.push_back(Answer(200, "<html>"));
  EXPECT_FALSE(time.Sync(absl::Seconds(1)).ok());
  EXPECT_EQ(transport.sent.back().url, "https://b/api/v3/time");
  EXPECT_TRUE(time.offset().has_value());
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
