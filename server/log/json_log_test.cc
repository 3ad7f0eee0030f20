#include "log/json_log.h"

#include <simdjson.h>

#include <sstream>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(JsonQuoteTest, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(JsonQuote(std::string("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(JsonQuote(std::string("\0\r\x1f", 3)), "\"\\u0000\\r\\u001f\"");
}

TEST(JsonQuoteTest, EscapesDelC1ControlsAndLineSeparators) {
  EXPECT_EQ(JsonQuote("\x7f"), "\"\\u007f\"");
  EXPECT_EQ(JsonQuote("\xC2\x85\xC2\x9F"), "\"\\u0085\\u009f\"");
  EXPECT_EQ(JsonQuote("\xE2\x80\xA8\xE2\x80\xA9"), "\"\\u2028\\u2029\"");
}

TEST(JsonQuoteTest, KeepsWellFormedUtf8) {
  const std::string text =
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBD";
  EXPECT_EQ(JsonQuote(text), "\"" + text + "\"");
}

TEST(JsonQuoteTest, ReplacesEachMalformedSubpart) {
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\\ufffd\\ufffd\"") << "overlong";
  EXPECT_EQ(JsonQuote("\xE0\x80\xAF"), "\"\\ufffd\\ufffd\\ufffd\"")
      << "overlong";
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"")
      << "surrogate";
  EXPECT_EQ(JsonQuote("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"")
      << "above U+10FFFF";
  EXPECT_EQ(JsonQuote("a\xE2\x82"), "\"a\\ufffd\"") << "truncated at the end";
  EXPECT_EQ(JsonQuote("\xF0\x9F\x98\"x"), "\"\\ufffd\\\"x\"")
      << "truncated before a quote, which stays a quote";
  EXPECT_EQ(JsonQuote("\x80"
                      "a\xBF"),
            "\"\\ufffda\\ufffd\"")
      << "stray continuation bytes";
  EXPECT_EQ(JsonQuote("\xFF\xFE"), "\"\\ufffd\\ufffd\"");
}

// Log lines from here on go to this stream (emptied on each call), which
// lives as long as the process, as the logger may write to it until then.
std::ostringstream& CapturedLog() {
  static std::ostringstream* const out = [] {
    auto* stream = new std::ostringstream;
    InitJsonLogForTesting(*stream);
    return stream;
  }();
  out->str("");
  return *out;
}

// What a JSON-lines reader needs of one emitted line.
void ExpectOneValidJsonLine(const std::string& line) {
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  for (char c : line.substr(0, line.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control byte";
  }
  EXPECT_TRUE(simdjson::validate_utf8(line.data(), line.size())) << line;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
}

// Every class of malformed input, as field values, keys and the event name,
// comes out as one line that parses as UTF-8 JSON.
TEST(LogLineTest, EmitsValidUtf8JsonWhateverTheCallerSends) {
  std::ostringstream& out = CapturedLog();
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string inputs[] = {
      every_byte,
      "\xC0\xAF",                  // overlong
      "\xE0\x80\xAF",              // overlong
      "\xF0\x80\x80\xAF",          // overlong
      "\xED\xA0\x80\xED\xBF\xBF",  // surrogates
      "\xF4\x90\x80\x80",          // above U+10FFFF
      "\xF8\x88\x80\x80\x80",      // five-byte form
      "id\xE2\x82",                // truncated
      "\xF0\x9F\x98",              // truncated
      "\x80\xBF",                  // stray continuation bytes
      "\"}\n{\"forged\":1",        // an attempt to forge a second line
      std::string("\0\x1b[31m", 6),
  };
  for (const std::string& input : inputs) {
    out.str("");
    LogLine("info", input).Str("request_id", input).Str(input, "v").Emit();
    ExpectOneValidJsonLine(out.str());
  }
  out.str("");
  LogLine("info", "x").Ms("forever", absl::InfiniteDuration()).Emit();
  ExpectOneValidJsonLine(out.str());
}

// The line keeps a valid value intact (after JSON decoding) and replaces only
// what is malformed.
TEST(LogLineTest, ValuesDecodeToTheInputWithReplacements) {
  std::ostringstream& out = CapturedLog();
  LogLine("info", "borrow")
      .Str("ok", "caf\xC3\xA9\n\"\xF0\x9F\x98\x80")
      .Str("bad",
           "a\xED\xA0\x80"
           "b\xE2\x82")
      .Emit();
  const std::string line = out.str();
  ExpectOneValidJsonLine(line);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
  std::string_view ok, bad;
  ASSERT_EQ(doc["ok"].get(ok), simdjson::SUCCESS);
  ASSERT_EQ(doc["bad"].get(bad), simdjson::SUCCESS);
  EXPECT_EQ(ok, "caf\xC3\xA9\n\"\xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(bad, "a" + fffd + fffd + fffd + "b" + fffd);
}

TEST(LogLineTest, BuildsOneJsonObject) {
  LogLine line("info", "borrow");
  line.Str("request_id", "r\"1")
      .Int("group_id", 7)
      .Ms("total_ms", absl::Microseconds(1500));
  const std::string& json = line.json();
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(
      json.find(
          R"("event":"borrow","request_id":"r\"1","group_id":7,"total_ms":1.500)"),
      std::string::npos)
      << json;
}

TEST(JsonQuoteTest, AppendsAfterWhatIsThere) {
  std::string out = "{\"k\":";
  AppendJsonQuoted(&out, "plain \xC3\xA9 \"q\" \x01 end");
  EXPECT_EQ(out, "{\"k\":\"plain \xC3\xA9 \\\"q\\\" \\u0001 end\"");
}

// The second is formatted once and reused: each line still carries its own
// milliseconds, and a new second its own text.
TEST(LogLineTest, StampsEachLineToTheMillisecondInUtc) {
  const absl::Time before = absl::Now();
  const std::string json = LogLine("info", "e").json();
  const std::string expected_second =
      absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::Now(), absl::UTCTimeZone());
  EXPECT_THAT(json, testing::MatchesRegex(
                        R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:)"
                        R"([0-9]{2}:[0-9]{2}\.[0-9]{3}Z","level":"info",)"
                        R"("event":"e")"));
  const std::string stamped = json.substr(7, 19);
  EXPECT_TRUE(stamped == expected_second ||
              stamped == absl::FormatTime("%Y-%m-%dT%H:%M:%S", before,
                                          absl::UTCTimeZone()))
      << json;
  absl::SleepFor(absl::Milliseconds(1100));
  const std::string later = LogLine("info", "e").json();
  EXPECT_NE(later.substr(7, 19), stamped) << later;
}

}  // namespace
}  // namespace loan_gateway
