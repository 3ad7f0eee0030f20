#include "identity/same_caller.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(SameCallerTest, AnIdentityIsOnlyItself) {
  EXPECT_TRUE(SameCaller("spiffe://lg/ns/treasury/sa/rebalancer",
                         "spiffe://lg/ns/treasury/sa/rebalancer"));
  EXPECT_FALSE(SameCaller("spiffe://lg/ns/treasury/sa/rebalancer",
                          "spiffe://lg/ns/desk/sa/other"));
  EXPECT_FALSE(SameCaller("spiffe://lg/ns/treasury/sa/rebalancer", ""));
}

TEST(SameCallerTest, CallersWithoutAnIdentityAreOneUnnamedCaller) {
  EXPECT_TRUE(
      SameCaller("insecure:ipv4:127.0.0.1:40522", "insecure:ipv4:10.0.0.7:1"));
  EXPECT_FALSE(SameCaller("insecure:ipv4:127.0.0.1:40522",
                          "spiffe://lg/ns/treasury/sa/rebalancer"));
  EXPECT_FALSE(SameCaller("spiffe://insecure:", "insecure:ipv4:127.0.0.1:1"));
}

}  // namespace
}  // namespace loan_gateway
