#include "binance/percent_encoding.h"

#include "gtest/gtest.h"

namespace loan_gateway::binance {
namespace {

TEST(PercentEncodeTest, KeepsOnlyUnreservedBytes) {
  EXPECT_EQ(PercentEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(PercentEncode("a b+c/d=e&f"), "a%20b%2Bc%2Fd%3De%26f");
  EXPECT_EQ(PercentEncode("\xe4\xb8\xad"),
            "%E4%B8%AD");  // UTF-8 bytes, uppercase hex.
  EXPECT_EQ(PercentEncode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(PercentEncode("abc=="),
            "abc%3D%3D");  // Base64 padding of a signature.
}

TEST(EncodeParamsTest, JoinsEncodedPairsInOrder) {
  EXPECT_EQ(EncodeParams(
                {{"groupId", "1"}, {"assetName", "USDT"}, {"amount", "1.5"}}),
            "groupId=1&assetName=USDT&amount=1.5");
  EXPECT_EQ(EncodeParams({{"a b", "c&d"}}), "a%20b=c%26d");
  EXPECT_EQ(EncodeParams({}), "");
}

}  // namespace
}  // namespace loan_gateway::binance
