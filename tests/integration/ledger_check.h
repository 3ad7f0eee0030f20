#ifndef LOAN_GATEWAY_TESTS_INTEGRATION_LEDGER_CHECK_H_
#define LOAN_GATEWAY_TESTS_INTEGRATION_LEDGER_CHECK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gateway_env.h"

namespace loan_gateway::testing {

// One borrow a crash test asked for. Its amount is unique among the test's
// intents, so the fake's ledger maps back to it exactly.
struct CrashIntent {
  std::string request_id;
  int64_t group = 0;
  std::string amount;
};

// What became of a crash test's intents.
struct CrashOutcome {
  int executed = 0;
  int rejected = 0;
  int not_journaled = 0;  // Killed before the intent was committed.
  int reconciled = 0;     // Settled from Binance's records.
  FakeState state;        // The fake's, once everything was settled.
};

// Waits until each intent is settled (`await_settled(i, request_id,
// give_up)` reads the i-th one's record from some gateway), then checks every
// request_id against the fake's ledger (`read_fake`, read after): none
// executed twice, SUCCEEDED
// exactly when Binance executed it and with its transaction, nothing left
// PENDING or UNKNOWN, and no ledger entry that no record accounts for
// (gtest failures, not exceptions).
CrashOutcome CheckIntentsAgainstLedger(
    const std::vector<CrashIntent>& intents,
    const std::function<institutional_loan::v1::GetBorrowResponse(
        size_t, const std::string&, absl::Time)>& await_settled,
    const std::function<FakeState()>& read_fake);

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_INTEGRATION_LEDGER_CHECK_H_
