#include "log/json_log.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(JsonQuoteTest, EscapesWhatJsonRequires) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
  EXPECT_EQ(JsonQuote(std::string("\x01", 1)), "\"\\u0001\"");
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

}  // namespace
}  // namespace loan_gateway
