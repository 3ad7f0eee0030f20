#include "service/risk_unit_queue.h"

#include <algorithm>
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

TEST(RiskUnitQueueTest, ADrainRefusesWhatWaitsAndKeepsWhatRuns) {
  RiskUnitQueue queue(4);
  std::vector<std::string> events;
  auto push = [&](std::string e) {
    return [&events, e] { events.push_back(e); };
  };
  ASSERT_TRUE(queue.Enqueue(1, push("start 1a"), push("refuse 1a")).ok());
  ASSERT_TRUE(queue.Enqueue(1, push("start 1b"), push("refuse 1b")).ok());
  ASSERT_TRUE(queue.Enqueue(2, push("start 2a"), push("refuse 2a")).ok());
  ASSERT_TRUE(queue.Enqueue(2, push("start 2b"), push("refuse 2b")).ok());
  queue.RefuseWaiting();
  ASSERT_EQ(events.size(), 4u);
  std::sort(events.begin() + 2, events.end());  // Groups in any order.
  EXPECT_EQ(events, (std::vector<std::string>{"start 1a", "start 2a",
                                              "refuse 1b", "refuse 2b"}));
  queue.Done(1);
  queue.Done(2);
  EXPECT_EQ(events.size(), 4u) << "nothing refused ever starts";
}

}  // namespace
}  // namespace loan_gateway
