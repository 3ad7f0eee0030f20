#include "service/admission.h"

#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "gtest/gtest.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ManualClock;
using ::loan_gateway::test_doubles::ScriptedTransport;

std::string ReasonOf(const absl::Status& status) {
  google::rpc::ErrorInfo info;
  return errors::GetDetail(status, &info) ? info.reason() : "";
}

class AdmissionTest : public testing::Test {
 protected:
  AdmissionTest()
      : binance_clock_(clock_, transport_, {"https://a"}),
        budget_(clock_, 6000),  // Two borrows (3000 each).
        breaker_(clock_),
        admission_({}, clock_, binance_clock_, breaker_, budget_) {}

  void SyncClock() {
    transport_.script.push_back({Delivery::kCompleted,
                                 200,
                                 {},
                                 R"({"serverTime":1700000000000})",
                                 "",
                                 {}});
    ASSERT_TRUE(binance_clock_.Sync(absl::Seconds(1)).ok());
  }
  absl::Time In(absl::Duration d) const { return clock_.now + d; }

  ManualClock clock_;
  ScriptedTransport transport_;
  BinanceClock binance_clock_;
  WeightBudget budget_;
  BanBreaker breaker_;
  Admission admission_;
};

TEST_F(AdmissionTest, ABorrowWithTimeAndAKnownClockIsAdmitted) {
  SyncClock();
  EXPECT_TRUE(admission_.BeforeJournal(In(absl::Seconds(5))).ok());
  EXPECT_TRUE(admission_.BeforeSend(In(absl::Seconds(5)), nullptr).ok());
}

TEST_F(AdmissionTest, EachRefusalNamesItsRow) {
  EXPECT_EQ(ReasonOf(admission_.BeforeJournal(In(absl::Seconds(5)))),
            "CLOCK_SKEW")
      << "the clock was never read";
  SyncClock();
  EXPECT_EQ(ReasonOf(admission_.BeforeJournal(In(absl::Milliseconds(100)))),
            "DEADLINE_TOO_SHORT");
  EXPECT_EQ(
      ReasonOf(admission_.BeforeSend(In(absl::Milliseconds(100)), nullptr)),
      "CALLER_GONE");
  EXPECT_EQ(ReasonOf(admission_.BeforeSend(In(absl::Seconds(5)),
                                           [] { return true; })),
            "CALLER_GONE");
  const contract::ErrorRule& ban = *contract::RuleForHttpStatus(418);
  breaker_.Trip(ban, contract::RuleError(ban, "418"), absl::Seconds(30));
  EXPECT_FALSE(admission_.BeforeJournal(In(absl::Seconds(5))).ok());
  EXPECT_FALSE(admission_.BeforeSend(In(absl::Seconds(5)), nullptr).ok());
}

TEST_F(AdmissionTest, DrainingRefusesEverythingFromThenOn) {
  SyncClock();
  admission_.BeginDrain();
  EXPECT_TRUE(admission_.draining());
  EXPECT_EQ(ReasonOf(admission_.BeforeJournal(In(absl::Seconds(5)))),
            "GATEWAY_DRAINING");
  EXPECT_EQ(ReasonOf(admission_.BeforeSend(In(absl::Seconds(5)), nullptr)),
            "GATEWAY_DRAINING");
}

TEST_F(AdmissionTest, WeightIsReservedUntilTheBudgetIsSpentAndReleased) {
  EXPECT_TRUE(admission_.ReserveWeight().ok());
  EXPECT_TRUE(admission_.ReserveWeight().ok());
  EXPECT_FALSE(admission_.ReserveWeight().ok()) << "6000 of 6000 taken";
  admission_.ReleaseWeight();
  EXPECT_TRUE(admission_.ReserveWeight().ok());
}

}  // namespace
}  // namespace loan_gateway
