#include "service/intent_gate.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

std::shared_ptr<OperationCall> CallFor(const std::string& request_id) {
  auto call = std::make_shared<OperationCall>();
  call->request_id = request_id;
  return call;
}

TEST(IntentGateTest, OneCallPerRequestIdAndRepeatsFollowIt) {
  IntentGate gate;
  auto first = CallFor("a");
  auto repeat = CallFor("a");
  ASSERT_TRUE(gate.Claim(first));
  EXPECT_FALSE(gate.Claim(repeat));
  EXPECT_TRUE(gate.Claimed("a"));
  ASSERT_TRUE(gate.Follow("a", repeat));
  gate.Unclaim(*repeat);  // Not the holder: changes nothing.
  EXPECT_TRUE(gate.Claimed("a"));
  std::vector<std::shared_ptr<OperationCall>> followers = gate.Release(*first);
  ASSERT_EQ(followers.size(), 1u);
  EXPECT_EQ(followers[0], repeat);
  EXPECT_FALSE(gate.Claimed("a"));
}

TEST(IntentGateTest, NobodyToFollowOnceTheFirstCallIsAnswered) {
  IntentGate gate;
  auto first = CallFor("a");
  ASSERT_TRUE(gate.Claim(first));
  EXPECT_TRUE(gate.Release(*first).empty());
  EXPECT_FALSE(gate.Follow("a", CallFor("a")));
}

TEST(IntentGateTest, ReleasingANonHolderKeepsTheClaimAndItsFollowers) {
  IntentGate gate;
  auto first = CallFor("a");
  ASSERT_TRUE(gate.Claim(first));
  ASSERT_TRUE(gate.Follow("a", CallFor("a")));
  OperationCall stranger;
  stranger.request_id = "a";
  EXPECT_TRUE(gate.Release(stranger).empty());
  EXPECT_EQ(gate.Release(*first).size(), 1u);
}

}  // namespace
}  // namespace loan_gateway
