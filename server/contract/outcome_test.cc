#include "contract/outcome.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "institutional_loan/v1/institutional_loan.pb.h"

namespace loan_gateway {
namespace {

TEST(OutcomeTest, NamesReadBackAndMatchTheApisBorrowStates) {
  for (Outcome outcome : {Outcome::kPending, Outcome::kSucceeded,
                          Outcome::kRejected, Outcome::kUnknown}) {
    EXPECT_EQ(ParseOutcome(OutcomeName(outcome)), outcome);
    // GetBorrow's BorrowState is the same vocabulary, prefixed.
    institutional_loan::v1::BorrowState state;
    EXPECT_TRUE(institutional_loan::v1::BorrowState_Parse(
        absl::StrCat("BORROW_STATE_", OutcomeName(outcome)), &state))
        << OutcomeName(outcome);
  }
  EXPECT_FALSE(ParseOutcome("DONE").has_value());
}

}  // namespace
}  // namespace loan_gateway
