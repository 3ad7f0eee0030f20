#include "validate/amount_units.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(AmountUnitsTest, ExactBothWays) {
  EXPECT_EQ(AmountText(*ToAmountUnits("1000.5")), "1000.5");
  EXPECT_EQ(AmountText(*ToAmountUnits("0.00000001")), "0.00000001");
  EXPECT_EQ(AmountText(*ToAmountUnits("99999999999999999999.99999999")),
            "99999999999999999999.99999999");
  EXPECT_EQ(*ToAmountUnits("1"), 100000000);
  EXPECT_EQ(AmountText(0), "0");
}

TEST(AmountUnitsTest, SumsWithoutRounding) {
  // 0.1 + 0.2 is 0.3 here, not 0.30000000000000004.
  EXPECT_EQ(AmountText(*ToAmountUnits("0.1") + *ToAmountUnits("0.2")), "0.3");
  AmountUnits sum = 0;
  for (int i = 0; i < 1000; ++i) sum += *ToAmountUnits("0.00000001");
  EXPECT_EQ(AmountText(sum), "0.00001");
  EXPECT_EQ(AmountText(*ToAmountUnits("5") - *ToAmountUnits("7.25")), "-2.25");
}

TEST(AmountUnitsTest, RefusesWhatIsNotAnAmount) {
  EXPECT_FALSE(ToAmountUnits("1e3").ok());
  EXPECT_FALSE(ToAmountUnits("-1").ok());
  EXPECT_FALSE(ToAmountUnits("").ok());
  EXPECT_FALSE(ToAmountUnits("0.000000001").ok());
}

TEST(AmountUnitsTest, AnUpstreamAmountIsRoundedDownSoComparisonsStayExact) {
  EXPECT_EQ(*UpstreamAmountUnitsFloor("0"), 0);
  EXPECT_EQ(*UpstreamAmountUnitsFloor("10.123456789"),
            *ToAmountUnits("10.12345678"));
  // 10.12345679 > 10.123456789 and 10.12345678 < it: so it compares.
  EXPECT_GT(*ToAmountUnits("10.12345679"),
            *UpstreamAmountUnitsFloor("10.123456789"));
  EXPECT_EQ(*UpstreamAmountUnitsFloor("48999.50000000"),
            *ToAmountUnits("48999.5"));
  EXPECT_FALSE(UpstreamAmountUnitsFloor("-1").ok());
  EXPECT_FALSE(UpstreamAmountUnitsFloor("1e3").ok());
}

}  // namespace
}  // namespace loan_gateway
