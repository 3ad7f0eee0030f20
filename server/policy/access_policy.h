#ifndef LOAN_GATEWAY_SERVER_POLICY_ACCESS_POLICY_H_
#define LOAN_GATEWAY_SERVER_POLICY_ACCESS_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "loan_gateway/policy/v1/access_policy.pb.h"
#include "validate/amount_units.h"

namespace loan_gateway {

// One borrow of a caller that counts against its rolling caps.
struct CountedBorrow {
  absl::Time created;
  AmountUnits amount = 0;
};

// At most `max` of an asset within any `window`.
struct CapRule {
  std::string asset;  // USDT | USDC
  absl::Duration window;
  AmountUnits max = 0;
};

// What one caller may do (policy::v1::CallerPolicy, checked).
struct CallerRule {
  std::string identity;
  std::set<std::string> methods;
  std::set<int64_t> group_ids;
  std::set<std::string> assets;
  std::optional<AmountUnits> max_amount_per_call;
  std::vector<CapRule> caps;
  bool admin = false;             // May call GatewayAdmin (the kill switch).
  bool read_all_borrows = false;  // GetBorrow sees every caller's borrows.

  // The longest window of its caps on `asset` (what the journal is asked
  // for); zero when it has none.
  absl::Duration LongestWindow(const std::string& asset) const;
};

// The deny-by-default access policy (--policy_file). Every refusal carries
// its row of the error contract and the rule that decided it.
class AccessPolicy {
 public:
  // Reads a policy::v1::AccessPolicy in text format (JSON when the name ends
  // in .json) with protobuf's own parsers, then checks it: unique non-empty
  // identities, known methods, exact amounts, positive windows.
  static absl::StatusOr<AccessPolicy> Load(const std::string& path);
  static absl::StatusOr<AccessPolicy> FromMessage(
      const policy::v1::AccessPolicy& message);

  // The caller's rule if it may call `method` ("Borrow", "GetBorrow", or
  // one of GatewayAdmin's, which need `admin`):
  // PERMISSION_DENIED with CALLER_NOT_ALLOWED or METHOD_NOT_ALLOWED.
  absl::StatusOr<const CallerRule*> Admit(const std::string& identity,
                                          const std::string& method) const;

  // Risk unit, asset and amount of one borrow against the caller's rule.
  static absl::Status CheckBorrow(const CallerRule& rule, int64_t group_id,
                                  const std::string& asset,
                                  const std::string& amount);
  // The risk unit and asset only (reads about a risk unit).
  static absl::Status CheckScope(const CallerRule& rule, int64_t group_id,
                                 const std::string& asset);
  // The risk unit only (GetRiskUnit).
  static absl::Status CheckRiskUnit(const CallerRule& rule, int64_t group_id);
  // The amount only: max_amount_per_call, and no more than a cap.
  static absl::Status CheckBorrowAmount(const CallerRule& rule,
                                        const std::string& asset,
                                        const std::string& amount);

  // The caller's caps on `asset` with `counted` (its borrows in the longest
  // window that succeeded, are in flight or unknown) and this one added:
  // RESOURCE_EXHAUSTED / CALLER_CAP_REACHED with QuotaFailure and RetryInfo
  // (when enough of the window will have passed) if one would be exceeded.
  static absl::Status CheckCaps(const CallerRule& rule,
                                const std::string& asset,
                                const std::string& amount,
                                const std::vector<CountedBorrow>& counted,
                                absl::Time now);

  size_t callers() const { return rules_.size(); }

 private:
  std::map<std::string, CallerRule> rules_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_POLICY_ACCESS_POLICY_H_
