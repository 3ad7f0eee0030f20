#ifndef LOAN_GATEWAY_SERVER_BINANCE_RISK_UNIT_DETAILS_H_
#define LOAN_GATEWAY_SERVER_BINANCE_RISK_UNIT_DETAILS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace loan_gateway::binance {

// GET /sapi/v1/margin/loan-group/ltv-details?groupId= ("Query Risk Unit
// Details"; 200 or 3000 IP weight by the page's version: counted as 3000).
inline constexpr char kLtvDetailsPath[] =
    "/sapi/v1/margin/loan-group/ltv-details";
inline constexpr int64_t kLtvDetailsWeight = 3000;

// What is owed of one asset.
struct Liability {
  std::string asset_name;
  std::string principal;  // Exact decimal text.
  std::string interest;
};

// One risk unit as ltv-details describes it; every amount exact text, as
// Binance sent it. The accounts' emails and collateral wallets are left out:
// callers need the risk, not who holds it.
struct RiskUnitDetails {
  int64_t group_id = 0;
  int64_t update_time_ms = 0;
  std::string ltv;
  std::string total_net_equity;
  std::string total_maintenance_margin;
  std::string total_liability;
  std::string parent_account_frozen_amount;
  std::string max_transfer_out_amount;
  std::string max_allowed_borrow_limit;
  std::vector<Liability> liabilities;
};

// The entry for `group_id` in an ltv-details answer (a JSON array of risk
// units); nullopt when the answer lists no such unit; an error for an answer
// that is not the documented shape or holds an amount that is no decimal.
absl::StatusOr<std::optional<RiskUnitDetails>> ParseRiskUnitDetails(
    absl::string_view body, int64_t group_id);

}  // namespace loan_gateway::binance

#endif  // LOAN_GATEWAY_SERVER_BINANCE_RISK_UNIT_DETAILS_H_
