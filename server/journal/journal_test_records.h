#ifndef LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_TEST_RECORDS_H_
#define LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_TEST_RECORDS_H_

#include <string>

#include "journal/borrow_journal.h"

namespace loan_gateway::journal_test {

// A borrow intent of caller "test" for risk unit 1001 in USDT, made now.
inline JournalRecord Intent(const std::string& id,
                            const std::string& amount = "10") {
  JournalRecord r;
  r.request_id = id;
  r.caller = "test";
  r.group_id = 1001;
  r.asset = "USDT";
  r.amount = amount;
  r.created = absl::Now();
  return r;
}

// A signed request of `id` with a 5 s recvWindow.
inline AttemptRecord Attempt(const std::string& id, int64_t signed_ms,
                             int64_t group = 1001) {
  return {.request_id = id,
          .group_id = group,
          .asset = "USDT",
          .amount = "10",
          .signed_ms = signed_ms,
          .recv_window_ms = 5000};
}

}  // namespace loan_gateway::journal_test

#endif  // LOAN_GATEWAY_SERVER_JOURNAL_JOURNAL_TEST_RECORDS_H_
