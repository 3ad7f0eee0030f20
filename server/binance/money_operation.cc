#include "binance/money_operation.h"

#include "binance/signed_request.h"

namespace loan_gateway::binance {

namespace {

constexpr MoneyOperation kBorrow = {.kind = OperationKind::kBorrow,
                                    .name = "Borrow",
                                    .log_event = "borrow",
                                    .path = kBorrowPath,
                                    .records_type = "BORROW",
                                    .own_record_type = "BORROW",
                                    .adds_liability = true,
                                    .moves_at_most_asked = false};

constexpr MoneyOperation kRepay = {.kind = OperationKind::kRepay,
                                   .name = "Repay",
                                   .log_event = "repay",
                                   .path = kRepayPath,
                                   .records_type = "REPAY",
                                   .own_record_type = "NORMAL_REPAY",
                                   .adds_liability = false,
                                   .moves_at_most_asked = true};

}  // namespace

const MoneyOperation& MoneyOperationOf(OperationKind kind) {
  return kind == OperationKind::kRepay ? kRepay : kBorrow;
}

}  // namespace loan_gateway::binance
