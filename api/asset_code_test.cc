#include "api/asset_code.h"

#include "api/request_id.h"
#include "gtest/gtest.h"

namespace loan_gateway::api {
namespace {

using institutional_loan::v1::ASSET_UNSPECIFIED;
using institutional_loan::v1::ASSET_USDC;
using institutional_loan::v1::ASSET_USDT;

TEST(AssetCodeTest, BothWays) {
  EXPECT_EQ(AssetCode(ASSET_USDT), "USDT");
  EXPECT_EQ(AssetCode(ASSET_USDC), "USDC");
  EXPECT_EQ(AssetCode(ASSET_UNSPECIFIED), "");
  EXPECT_EQ(AssetCode(static_cast<institutional_loan::v1::Asset>(99)), "");
  EXPECT_EQ(AssetFromCode("USDT"), ASSET_USDT);
  EXPECT_EQ(AssetFromCode("usdc"), ASSET_USDC);
  EXPECT_EQ(AssetFromCode("UNSPECIFIED"), ASSET_UNSPECIFIED);
  EXPECT_EQ(AssetFromCode("BTC"), ASSET_UNSPECIFIED);
  EXPECT_EQ(AssetFromCode(""), ASSET_UNSPECIFIED);
}

TEST(RequestIdTest, AVersion4UuidEachTime) {
  const std::string a = NewRequestId();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;
  EXPECT_NE(a, NewRequestId());
}

}  // namespace
}  // namespace loan_gateway::api
