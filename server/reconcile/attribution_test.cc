#include "reconcile/attribution.h"

#include <set>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

constexpr int64_t kT = 1'764'000'000'000;  // R1's signed timestamp.
constexpr int64_t kWindow = 5000;

AttemptRecord Attempt(const std::string& id, int64_t signed_ms,
                      const std::string& amount = "100",
                      AttemptState state = AttemptState::kSent) {
  return {.request_id = id,
          .seq = 1,
          .group_id = 1001,
          .asset = "USDT",
          .amount = amount,
          .signed_ms = signed_ms,
          .recv_window_ms = kWindow,
          .state = state};
}

binance::BorrowRecord Row(const std::string& tran_id, int64_t t_ms,
                          const std::string& amount = "100",
                          const std::string& status = "CONFIRM") {
  return {tran_id, "USDT", amount, status, "BORROW", t_ms};
}

// One row of the table: R1's attempts, the other open attempts, Binance's
// rows, which transactions are taken, the time; what must come out.
struct Case {
  std::string name;
  std::vector<AttemptRecord> mine;
  std::vector<AttemptRecord> others;
  std::vector<binance::BorrowRecord> rows;
  std::set<std::string> claimed;
  int64_t now_ms;
  Attribution::Kind want;
  std::string want_transaction = "";
};

class AttributionTest : public testing::TestWithParam<Case> {};

TEST_P(AttributionTest, Decides) {
  const Case& c = GetParam();
  JournalRecord record;
  record.request_id = "r1";
  record.group_id = 1001;
  record.asset = "USDT";
  record.amount = "100";
  std::vector<AttemptRecord> open = c.others;
  for (const AttemptRecord& a : c.mine) {
    if (a.state == AttemptState::kSent) open.push_back(a);
  }
  const Attribution got = Attribute(
      {.record = &record,
       .attempts = &c.mine,
       .rows = &c.rows,
       .open_attempts = &open,
       .claimed = [&](const std::string& id) { return c.claimed.contains(id); },
       .now_ms = c.now_ms,
       .settle_after_ms = 120'000});
  EXPECT_EQ(static_cast<int>(got.kind), static_cast<int>(c.want)) << got.why;
  EXPECT_EQ(got.transaction_id, c.want_transaction);
  EXPECT_FALSE(got.why.empty());
}

using K = Attribution::Kind;
const int64_t kLate = kT + 200'000;  // Past settle_after.

INSTANTIATE_TEST_SUITE_P(
    Table, AttributionTest,
    testing::Values(
        Case{"record_in_window_is_mine",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40)},
             {},
             kT + 1000,
             K::kExecuted,
             "9"},
        Case{"amount_written_differently",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40, "100.00000000")},
             {},
             kT + 1000,
             K::kExecuted,
             "9"},
        // The case: R2 (same amount, later window) executed; its
        // record is not in R1's window, so R1 is not executed.
        Case{"later_borrow_of_same_amount_is_not_mine",
             {Attempt("r1", kT)},
             {Attempt("r2", kT + 7000)},
             {Row("9", kT + 7040)},
             {},
             kLate,
             K::kNotExecuted},
        Case{"record_after_window_is_not_mine_yet_too_early",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + kWindow + 1500)},
             {},
             kT + 10'000,
             K::kWait},
        Case{"record_before_window_is_not_mine",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT - 1000)},
             {},
             kLate,
             K::kNotExecuted},
        Case{"record_at_window_edge_is_mine",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + kWindow + 1000)},
             {},
             kLate,
             K::kExecuted,
             "9"},
        Case{"claimed_record_is_not_mine",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40)},
             {"9"},
             kLate,
             K::kNotExecuted},
        Case{"two_open_attempts_share_the_record",
             {Attempt("r1", kT)},
             {Attempt("r0", kT - 2000)},
             {Row("9", kT + 40)},
             {},
             kLate,
             K::kAmbiguous},
        Case{"another_amount_is_no_rival",
             {Attempt("r1", kT)},
             {Attempt("r0", kT - 2000, "55")},
             {Row("9", kT + 40)},
             {},
             kLate,
             K::kExecuted,
             "9"},
        Case{"two_unclaimed_records_in_my_window",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40), Row("10", kT + 900)},
             {},
             kLate,
             K::kAmbiguous},
        Case{"unsettled_row_waits",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40, "100", "PENDING")},
             {},
             kLate,
             K::kWait},
        Case{"failed_row_is_not_an_execution",
             {Attempt("r1", kT)},
             {},
             {Row("9", kT + 40, "100", "FAILED")},
             {},
             kLate,
             K::kNotExecuted},
        Case{"never_signed_is_not_executed",
             {},
             {},
             {Row("9", kT + 40)},
             {},
             kT,
             K::kNotExecuted},
        Case{"every_attempt_refused_is_not_executed",
             {Attempt("r1", kT, "100", AttemptState::kNotExecuted)},
             {},
             {Row("9", kT + 40)},
             {},
             kT,
             K::kNotExecuted},
        // -1021 then re-signed: only the second attempt can own a record.
        Case{"resigned_attempt_owns_its_window",
             {Attempt("r1", kT - 30'000, "100", AttemptState::kNotExecuted),
              Attempt("r1", kT)},
             {},
             {Row("9", kT + 40)},
             {},
             kT + 1000,
             K::kExecuted,
             "9"},
        Case{"no_record_waits_until_settle_after",
             {Attempt("r1", kT)},
             {},
             {},
             {},
             kT + 60'000,
             K::kWait}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// A repay's record may be any amount up to the one asked (Binance repays
// min(available, asked)), of type NORMAL_REPAY only (a FORCE_REPAY is a
// liquidation, never the gateway's); any other open repay in the window is a
// rival, whatever its amount; an open borrow is not.
TEST(RepayAttributionTest, TheRepaidAmountIsAtMostTheOneAsked) {
  JournalRecord record;
  record.kind = OperationKind::kRepay;
  record.request_id = "r1";
  record.group_id = 1001;
  record.asset = "USDT";
  record.amount = "100";
  AttemptRecord mine = Attempt("r1", kT);
  mine.kind = OperationKind::kRepay;
  const std::vector<AttemptRecord> attempts = {mine};
  auto decide = [&](std::vector<binance::BorrowRecord> rows,
                    std::vector<AttemptRecord> open) {
    open.push_back(mine);
    return Attribute({.record = &record,
                      .attempts = &attempts,
                      .rows = &rows,
                      .open_attempts = &open,
                      .claimed = [](const std::string&) { return false; },
                      .now_ms = kT + 200'000,
                      .settle_after_ms = 120'000});
  };
  auto repay_row = [](const std::string& id, const std::string& amount,
                      const std::string& type = "NORMAL_REPAY") {
    return binance::BorrowRecord{id, "USDT", amount, "CONFIRM", type, kT + 10};
  };
  Attribution got = decide({repay_row("t1", "40.5")}, {});
  EXPECT_EQ(got.kind, Attribution::Kind::kExecuted) << got.why;
  EXPECT_EQ(got.transaction_id, "t1");
  EXPECT_EQ(got.amount, "40.5");
  EXPECT_EQ(decide({repay_row("t1", "100.00000001")}, {}).kind,
            Attribution::Kind::kNotExecuted)
      << "more than asked is not ours";
  EXPECT_EQ(decide({repay_row("t1", "40", "FORCE_REPAY")}, {}).kind,
            Attribution::Kind::kNotExecuted);
  AttemptRecord rival = Attempt("r2", kT + 5, "7");
  rival.kind = OperationKind::kRepay;
  EXPECT_EQ(decide({repay_row("t1", "40")}, {rival}).kind,
            Attribution::Kind::kAmbiguous);
  AttemptRecord borrow = Attempt("r3", kT + 5, "100");
  EXPECT_EQ(decide({repay_row("t1", "40")}, {borrow}).kind,
            Attribution::Kind::kExecuted);
}

}  // namespace
}  // namespace loan_gateway
