#ifndef LOAN_GATEWAY_SERVER_RECONCILE_ATTRIBUTION_H_
#define LOAN_GATEWAY_SERVER_RECONCILE_ATTRIBUTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "binance/borrow_records.h"
#include "journal/borrow_journal.h"

namespace loan_gateway {

// What Binance's records say of one unsettled borrow.
struct Attribution {
  enum class Kind {
    kExecuted,     // Exactly one record can be its, and it can be no other's.
    kNotExecuted,  // No record in any of its windows, long enough after.
    kWait,         // Too early to conclude, or Binance has not settled a row.
    kAmbiguous,    // A record could be its or another's (or two could be its):
                   // left open for an operator, with `why`.
  };
  Kind kind = Kind::kWait;
  std::string transaction_id;  // kExecuted.
  std::string why;             // Human text for the log, note and GetBorrow.
  std::string amount;          // kExecuted: the record's amount, exact.
};

struct AttributionInput {
  const JournalRecord* record = nullptr;
  // The record's attempts (all states), journaled with their timestamps.
  const std::vector<AttemptRecord>* attempts = nullptr;
  // Binance's rows for the record's risk unit and asset around its windows.
  const std::vector<binance::BorrowRecord>* rows = nullptr;
  // Open attempts of the same risk unit and asset, any request_id.
  const std::vector<AttemptRecord>* open_attempts = nullptr;
  // Whether a transaction id is already attributed to a journal record.
  std::function<bool(const std::string& transaction_id)> claimed;
  int64_t now_ms = 0;  // Binance time.
  int64_t settle_after_ms = 0;
};

// Attributes Binance's borrow records to an attempt only when it is
// unambiguous: a record can be an attempt's only inside the attempt's
// execution window (its signed timestamp and recvWindow), and only if no
// other open attempt of the same risk unit, asset and amount could own it.
// Never "not executed" while an unclaimed record sits in one of its windows.
Attribution Attribute(const AttributionInput& in);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RECONCILE_ATTRIBUTION_H_
