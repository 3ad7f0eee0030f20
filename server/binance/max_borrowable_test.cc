#include "binance/max_borrowable.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

TEST(MaxBorrowableTest, ExactTextFromAStringOrANumber) {
  EXPECT_EQ(**ParseMaxBorrowable(R"({"maxBorrowableAmount":"48999.5"})"),
            "48999.5");
  EXPECT_EQ(**ParseMaxBorrowable(
                R"({"maxBorrowableAmount":12345678901234567.123456789})"),
            "12345678901234567.123456789");
  EXPECT_EQ(**ParseMaxBorrowable(R"({"maxBorrowableAmount":"0"})"), "0");
}

TEST(MaxBorrowableTest, NullOrEmptyIsUnknown) {
  EXPECT_FALSE(
      ParseMaxBorrowable(R"({"maxBorrowableAmount":null})")->has_value());
  EXPECT_FALSE(
      ParseMaxBorrowable(R"({"maxBorrowableAmount":""})")->has_value());
}

TEST(MaxBorrowableTest, AnythingElseIsAnError) {
  for (const char* body : {"", "[]", "{}", R"({"maxBorrowableAmount":true})",
                           R"({"maxBorrowableAmount":"-1"})",
                           R"({"maxBorrowableAmount":"1e3"})", "<html>"}) {
    EXPECT_FALSE(ParseMaxBorrowable(body).ok()) << body;
  }
}

}  // namespace
}  // namespace loan_gateway::binance
