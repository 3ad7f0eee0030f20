#include "api/asset_code.h"

#include <cstdint>
#include <set>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
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

TEST(RequestIdTest, AVersion7UuidEachTime) {
  const int64_t before = absl::ToUnixMillis(absl::Now());
  const std::string a = NewRequestId();
  const int64_t after = absl::ToUnixMillis(absl::Now());
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a[13], '-');
  EXPECT_EQ(a[14], '7');
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;
  // Its first 48 bits are the time it was made, in milliseconds.
  const int64_t ms = std::stoll(a.substr(0, 8) + a.substr(9, 4), nullptr, 16);
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  EXPECT_NE(a, NewRequestId());
}

TEST(RequestIdTest, LaterIdsSortAfterEarlierOnes) {
  const std::string earlier = NewRequestId();
  absl::SleepFor(absl::Milliseconds(2));
  EXPECT_LT(earlier, NewRequestId());
}

TEST(RequestIdTest, NoTwoAlikeWithinOneMillisecond) {
  std::set<std::string> ids;
  for (int i = 0; i < 100000; ++i) ids.insert(NewRequestId());
  EXPECT_EQ(ids.size(), 100000u);
  for (const std::string& id : ids) {
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos)
        << id;
  }
}

}  // namespace
}  // namespace loan_gateway::api
