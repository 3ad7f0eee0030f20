#include "clock/binance_clock.h"

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

TEST(BinanceClockTest, MeasuresOffsetFromTheRoundTripMidpoint) {
  ManualClock clock;
  ScriptedTransport transport = SlowTransport(clock);
  // Binance is 2500 ms ahead at the midpoint of the 40 ms round trip.
  const int64_t server_ms = absl::ToUnixMillis(clock.now) + 20 + 2500;
  transport.script.push_back(
      Answer(200, absl::StrCat("{\"serverTime\":", server_ms, "}")));
  BinanceClock time(clock, transport, {"https://fake"});
  EXPECT_FALSE(time.NowMs().ok()) << "unknown before the first sync";
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  ASSERT_EQ(transport.sent.size(), 1u);
  EXPECT_EQ(transport.sent[0].url, "https://fake/api/v3/time");
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(2500));
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  EXPECT_EQ(*time.NowMs(), absl::ToUnixMillis(clock.now) + 2500);
}

TEST(BinanceClockTest, FailedSyncKeepsThePreviousOffsetAndTriesEveryBaseUrl) {
  ManualClock clock;
  ScriptedTransport transport = SlowTransport(clock);
  transport.script.push_back(Answer(200, R"({"serverTime":1700000000020})"));
  BinanceClock time(clock, transport, {"https://a", "https://b"});
  ASSERT_TRUE(time.Sync(absl::Seconds(1)).ok());
  transport.script.push_back(
      {Delivery::kNotSent, 0, {}, "", "Couldn't connect", {}});
  transport.script.push_back(Answer(200, "<html>"));
  EXPECT_FALSE(time.Sync(absl::Seconds(1)).ok());
  EXPECT_EQ(transport.sent.back().url, "https://b/api/v3/time");
  EXPECT_TRUE(time.offset().has_value());
}

// Syncs `time` once over a round trip of `rtt` against a Binance clock that is
// `binance_ahead` ahead of `clock` at the midpoint of the trip.
absl::Status SyncOver(BinanceClock& time, ScriptedTransport& transport,
                      ManualClock& clock, absl::Duration rtt,
                      absl::Duration binance_ahead) {
  transport.on_send = [&clock, rtt] { clock.now += rtt; };
  const absl::Time midpoint = clock.now + rtt / 2;
  transport.script.push_back(Answer(
      200, absl::StrCat("{\"serverTime\":",
                        absl::ToUnixMillis(midpoint + binance_ahead), "}")));
  return time.Sync(absl::Seconds(5));
}

// The incident: a good offset, then one 2.5 s answer at a resync. Keeping the
// slow one (+/-1.25 s) would refuse every borrow until the next resync.
TEST(BinanceClockTest, SlowSampleAfterAGoodOneKeepsTheGoodOne) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  const absl::Time good_at = clock.now;
  clock.now += absl::Seconds(30);
  EXPECT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(2500),
                       absl::Milliseconds(900))
                  .ok())
      << "the sync itself worked";
  ASSERT_TRUE(time.offset().has_value());
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(300));
  EXPECT_EQ(time.offset()->measured_at, good_at);
  EXPECT_EQ(*time.NowMs(), absl::ToUnixMillis(clock.now) + 300);
}

TEST(BinanceClockTest, BetterSampleReplaces) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(200),
                       absl::Milliseconds(300))
                  .ok());
  clock.now += absl::Seconds(1);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(310))
                  .ok());
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(310));
  EXPECT_EQ(time.offset()->measured_at, clock.now);
}

TEST(BinanceClockTest, EquallyGoodFresherSampleReplaces) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  clock.now += absl::Seconds(30);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(305))
                  .ok());
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(305));
  EXPECT_EQ(time.offset()->measured_at, clock.now);
}

// A slightly worse sample wins once the current one's assumed drift since it
// was measured makes the current one no better.
TEST(BinanceClockTest, SlightlyWorseSampleReplacesOnceTheDriftCoversIt) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  // 20 ms grows by 500 ppm: 25 ms after 10 s, 35 ms after 30 s.
  clock.now += absl::Seconds(10);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(60),
                       absl::Milliseconds(300))
                  .ok());
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
  clock.now += absl::Seconds(20);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(60),
                       absl::Milliseconds(301))
                  .ok());
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(30));
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(301));
}

TEST(BinanceClockTest, OldGoodOffsetIsEventuallyReplaced) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  const absl::Time good_at = clock.now;
  // Slow answers every 30 s: the good offset stays while it is recent.
  while (clock.now + absl::Seconds(30) + absl::Milliseconds(2500) - good_at <=
         BinanceClock::kMaxSampleAge) {
    clock.now += absl::Seconds(30);
    ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(2500),
                         absl::Milliseconds(800))
                    .ok());
    ASSERT_EQ(time.offset()->measured_at, good_at)
        << "replaced after " << (clock.now - good_at);
  }
  clock.now += absl::Seconds(30);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(2500),
                       absl::Milliseconds(800))
                  .ok());
  EXPECT_GT(clock.now - good_at, BinanceClock::kMaxSampleAge);
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(1250));
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(800));
  // And a good sample takes over from the slow one at once.
  clock.now += absl::Seconds(30);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(310))
                  .ok());
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(20));
}

// Binance's clock jumped (or the local one was stepped): a slow sample that
// cannot agree with the current offset proves the current one wrong, and
// signing with a wrong offset is worse than refusing as too uncertain.
TEST(BinanceClockTest, ContradictedOffsetIsReplacedEvenByAWorseSample) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  clock.now += absl::Seconds(30);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(2500),
                       absl::Seconds(20))
                  .ok());
  EXPECT_EQ(time.offset()->offset, absl::Seconds(20));
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(1250));
}

// A sample taken "before" the current one means the local clock was stepped
// back: the current one's age means nothing any more, and even a sample that
// agrees with it replaces it.
TEST(BinanceClockTest, LocalClockSteppedBackReplacesTheOffset) {
  ManualClock clock;
  ScriptedTransport transport;
  BinanceClock time(clock, transport, {"https://fake"});
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(40),
                       absl::Milliseconds(300))
                  .ok());
  clock.now -= absl::Seconds(2);
  ASSERT_TRUE(SyncOver(time, transport, clock, absl::Milliseconds(100),
                       absl::Milliseconds(310))
                  .ok());
  EXPECT_EQ(time.offset()->offset, absl::Milliseconds(310));
  EXPECT_EQ(time.offset()->uncertainty, absl::Milliseconds(50));
  EXPECT_EQ(time.offset()->measured_at, clock.now);
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
