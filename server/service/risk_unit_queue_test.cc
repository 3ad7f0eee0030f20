#include "service/risk_unit_queue.h"

#include <vector>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

TEST(RiskUnitQueueTest, OneAtATimePerGroupInOrder) {
  RiskUnitQueue queue(2);
  std::vector<std::string> started;
  ASSERT_TRUE(queue.Enqueue(1, [&] { started.push_back("1a"); }).ok());
  ASSERT_TRUE(queue.Enqueue(1, [&] { started.push_back("1b"); }).ok());
  ASSERT_TRUE(queue.Enqueue(2, [&] { started.push_back("2a"); }).ok());
  ASSERT_TRUE(queue.Enqueue(1, [&] { started.push_back("1c"); }).ok());
  EXPECT_EQ(started, (std::vector<std::string>{"1a", "2a"}))
      << "groups run in parallel";
  absl::Status full = queue.Enqueue(1, [&] { started.push_back("1d"); });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  queue.Done(1);
  EXPECT_EQ(started.back(), "1b");
  queue.Done(1);
  EXPECT_EQ(started.back(), "1c");
  queue.Done(1);
  EXPECT_EQ(queue.waiting(1), 0u);
  ASSERT_TRUE(queue.Enqueue(1, [&] { started.push_back("1e"); }).ok());
  EXPECT_EQ(started.back(), "1e") << "an idle group starts at once";
}

}  // namespace
}  // namespace loan_gateway
