#include "service/resend_policy.h"

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

struct Row {
  const char* name;
  AttemptResult result;
  AttemptHistory history;
  ResendDecision expected;
};

constexpr auto kNotSent = Delivery::kNotSent;
constexpr auto kMaybeSent = Delivery::kMaybeSent;
constexpr auto kCompleted = Delivery::kCompleted;

// Every way an attempt can end, against where the call stands.
const Row kRows[] = {
    {"never left, another base URL",
     {kNotSent, Outcome::kRejected, std::nullopt},
     {0, 2, false},
     ResendDecision::kNextBaseUrl},
    {"never left, on the last base URL",
     {kNotSent, Outcome::kRejected, std::nullopt},
     {1, 2, false},
     ResendDecision::kSettle},
    {"never left, one base URL only",
     {kNotSent, Outcome::kRejected, std::nullopt},
     {0, 1, false},
     ResendDecision::kSettle},
    {"never left after a re-sign, another base URL",
     {kNotSent, Outcome::kRejected, std::nullopt},
     {0, 3, true},
     ResendDecision::kNextBaseUrl},
    {"may have left (timeout, reset), another base URL",
     {kMaybeSent, Outcome::kUnknown, std::nullopt},
     {0, 2, false},
     ResendDecision::kSettle},
    {"5XX, another base URL",
     {kCompleted, Outcome::kUnknown, std::nullopt},
     {0, 2, false},
     ResendDecision::kSettle},
    {"-1021 the first time",
     {kCompleted, Outcome::kRejected, -1021},
     {0, 1, false},
     ResendDecision::kResyncAndResign},
    {"-1021 again after the re-sign",
     {kCompleted, Outcome::kRejected, -1021},
     {0, 1, true},
     ResendDecision::kSettle},
    {"-1021 in an unknown answer (a 5XX body)",
     {kCompleted, Outcome::kUnknown, -1021},
     {0, 1, false},
     ResendDecision::kSettle},
    {"another rejection (-27009)",
     {kCompleted, Outcome::kRejected, -27009},
     {0, 2, false},
     ResendDecision::kSettle},
    {"-1003 (rate limited), another base URL",
     {kCompleted, Outcome::kRejected, -1003},
     {0, 2, false},
     ResendDecision::kSettle},
    {"executed",
     {kCompleted, Outcome::kSucceeded, std::nullopt},
     {0, 2, false},
     ResendDecision::kSettle},
};

TEST(ResendPolicyTest, EveryRow) {
  for (const Row& row : kRows) {
    EXPECT_EQ(DecideResend(row.result, row.history), row.expected)
        << row.name << ": got "
        << ResendDecisionName(DecideResend(row.result, row.history));
  }
}

// The rule the table is for: whatever may have reached Binance is never sent
// again, whatever the history.
TEST(ResendPolicyTest, NothingThatMayHaveLeftIsEverSentAgain) {
  for (Delivery delivery : {kMaybeSent, kCompleted}) {
    for (Outcome outcome : {Outcome::kUnknown, Outcome::kSucceeded}) {
      for (std::optional<int64_t> code :
           {std::optional<int64_t>(), std::optional<int64_t>(-1021),
            std::optional<int64_t>(-1003)}) {
        for (size_t index : {0u, 1u}) {
          for (bool resigned : {false, true}) {
            EXPECT_EQ(
                DecideResend({delivery, outcome, code}, {index, 3, resigned}),
                ResendDecision::kSettle);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace loan_gateway
