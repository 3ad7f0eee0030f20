#include "binance/borrow_records.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

TEST(ParseBorrowRecordsTest, ReadsRowsExactly) {
  auto page = ParseBorrowRecords(
      R"({"rows":[{"tranId":9007199254740993,"assetName":"USDT","amount":"1000.5",)"
      R"("status":"CONFIRM","type":"BORROW","timestamp":1764000000000},)"
      R"({"tranId":"17","assetName":"USDC","amount":12345678901234567.12345678,)"
      R"("status":"FAILED","type":"BORROW","timestamp":1764000000001}],"total":2})");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(page->rows[0].transaction_id, "9007199254740993");
  EXPECT_EQ(page->rows[0].amount, "1000.5");
  EXPECT_EQ(page->rows[0].timestamp_ms, 1764000000000);
  EXPECT_EQ(page->rows[1].transaction_id, "17");
  EXPECT_EQ(page->rows[1].amount, "12345678901234567.12345678");
  EXPECT_EQ(page->rows[1].status, "FAILED");
}

TEST(ParseBorrowRecordsTest, RejectsWhatIsNotRecords) {
  for (const char* body :
       {"", "<html>", "[]", R"({"rows":{}})", R"({"rows":[{"amount":"1"}]})"}) {
    EXPECT_FALSE(ParseBorrowRecords(body).ok()) << body;
  }
  EXPECT_TRUE(ParseBorrowRecords(R"({"rows":[],"total":0})").ok());
}

}  // namespace
}  // namespace loan_gateway::binance
