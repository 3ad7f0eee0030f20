#include "ledger_check.h"

#include <map>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace loan_gateway::testing {

using institutional_loan::v1::GetBorrowResponse;

CrashOutcome CheckIntentsAgainstLedger(
    const std::vector<CrashIntent>& intents,
    const std::function<GetBorrowResponse(size_t, const std::string&,
                                          absl::Time)>& await_settled,
    const std::function<FakeState()>& read_fake) {
  CrashOutcome outcome;
  std::map<std::string, GetBorrowResponse> final_state;
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  for (size_t i = 0; i < intents.size(); ++i) {
    GetBorrowResponse record = await_settled(i, intents[i].request_id, give_up);
    if (record.request_id().empty()) ++outcome.not_journaled;
    if (record.resolution() ==
        institutional_loan::v1::BORROW_RESOLUTION_RECONCILED) {
      ++outcome.reconciled;
    }
    final_state[intents[i].request_id] = record;
  }
  outcome.state = read_fake();
  const FakeState& state_after = outcome.state;
  std::map<std::string, std::vector<std::string>> ledger_by_amount;
  for (const LedgerEntry& b : state_after.borrows)
    ledger_by_amount[b.amount].push_back(b.tran_id);
  for (const CrashIntent& intent : intents) {
    const GetBorrowResponse& r = final_state[intent.request_id];
    const auto it = ledger_by_amount.find(intent.amount);
    const size_t times = it == ledger_by_amount.end() ? 0 : it->second.size();
    EXPECT_LE(times, 1u) << intent.request_id << " executed " << times
                         << " times";
    if (r.state() == institutional_loan::v1::BORROW_STATE_SUCCEEDED) {
      ++outcome.executed;
      EXPECT_EQ(times, 1u) << intent.request_id
                           << " succeeded without a ledger entry";
      if (times == 1) {
        EXPECT_EQ(r.transaction_id(), it->second[0]) << intent.request_id;
      }
      continue;
    }
    EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_UNKNOWN)
        << intent.request_id << " never settled";
    EXPECT_NE(r.state(), institutional_loan::v1::BORROW_STATE_PENDING)
        << intent.request_id << " never settled";
    EXPECT_EQ(times, 0u) << intent.request_id
                         << " executed but the journal says " << r.state();
    if (r.state() == institutional_loan::v1::BORROW_STATE_REJECTED)
      ++outcome.rejected;
  }
  EXPECT_EQ(static_cast<size_t>(outcome.executed), state_after.borrows.size())
      << "a ledger entry no journal record accounts for";
  return outcome;
}

}  // namespace loan_gateway::testing
