#include "service/operation_call.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

using S = OperationStage;

TEST(BorrowCallTest, ASentBorrowGoesBackToPreparingOnlyFromSending) {
  OperationCall call;
  for (S next : {S::kAdmitted, S::kQueued, S::kPreparing, S::kSending,
                 S::kPreparing, S::kWaitingWindow, S::kPreparing, S::kSending,
                 S::kSettling, S::kAnswered}) {
    EXPECT_TRUE(call.Advance(next)) << OperationStageName(next);
  }
  EXPECT_EQ(call.stage(), S::kAnswered);
}

TEST(BorrowCallTest, AnIllegalMoveLeavesTheStageAsItWas) {
  OperationCall call;
  EXPECT_FALSE(call.Advance(S::kSending)) << "never sent before journaled";
  EXPECT_EQ(call.stage(), S::kReceived);
  ASSERT_TRUE(call.Advance(S::kAdmitted));
  EXPECT_FALSE(call.Advance(S::kSettling))
      << "nothing to settle before the intent is queued";
}

TEST(BorrowCallTest, NothingFollowsAnAnswer) {
  for (int to = 0; to <= static_cast<int>(S::kAnswered); ++to) {
    EXPECT_FALSE(IsLegalTransition(S::kAnswered, static_cast<S>(to)));
  }
}

TEST(BorrowCallTest, EveryPathReachesAnAnswerThroughSettlingOnceQueued) {
  // Once the intent is journaled (queued), the only way to the answer is
  // through settling, which journals the outcome.
  for (S from : {S::kQueued, S::kPreparing, S::kWaitingWindow, S::kSending}) {
    EXPECT_FALSE(IsLegalTransition(from, S::kAnswered))
        << OperationStageName(from);
    EXPECT_TRUE(IsLegalTransition(from, S::kSettling))
        << OperationStageName(from);
  }
}

TEST(BorrowCallTest, OnlyPreparingLeadsToSending) {
  for (int from = 0; from <= static_cast<int>(S::kAnswered); ++from) {
    EXPECT_EQ(IsLegalTransition(static_cast<S>(from), S::kSending),
              static_cast<S>(from) == S::kPreparing)
        << OperationStageName(static_cast<S>(from));
  }
}

}  // namespace
}  // namespace loan_gateway
