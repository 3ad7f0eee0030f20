#include "policy/access_policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/asset_code.h"
#include "contract/rule_error.h"
#include "proto_file/message_file.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

using contract::RuleForLocal;

constexpr const char* kMethods[] = {"Borrow",           "Repay",
                                    "GetBorrow",        "ListOperations",
                                    "GetMaxBorrowable", "GetRiskUnit"};
// GatewayAdmin's methods: allowed by `admin: true`, never by `methods`.
constexpr const char* kAdminMethods[] = {"HaltBorrowing", "ResumeBorrowing",
                                         "GetBorrowingState"};

bool IsAdminMethod(const std::string& method) {
  return std::find(std::begin(kAdminMethods), std::end(kAdminMethods),
                   method) != std::end(kAdminMethods);
}

absl::Status Invalid(const std::string& identity, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("caller \"", identity, "\": ", what));
}

absl::StatusOr<CapRule> ToCap(const std::string& identity,
                              const policy::v1::RollingCap& cap) {
  CapRule out;
  out.asset = api::AssetCode(cap.asset());
  if (out.asset.empty()) return Invalid(identity, "a cap names no asset");
  out.window = FromProtoDuration(cap.window());
  if (out.window <= absl::ZeroDuration()) {
    return Invalid(identity, "a cap's window must be positive");
  }
  absl::StatusOr<AmountUnits> max = ToAmountUnits(cap.max_amount());
  if (!max.ok()) {
    return Invalid(
        identity, absl::StrCat("a cap's max_amount: ", max.status().message()));
  }
  out.max = *max;
  return out;
}

absl::StatusOr<CallerRule> ToRule(const policy::v1::CallerPolicy& caller) {
  CallerRule rule;
  rule.identity = caller.identity();
  if (rule.identity.empty()) {
    return absl::InvalidArgumentError("a caller without an identity");
  }
  for (const std::string& method : caller.methods()) {
    if (IsAdminMethod(method)) {
      return Invalid(
          rule.identity,
          absl::StrCat("\"", method, "\" is an admin method: set admin: true"));
    }
    if (std::find(std::begin(kMethods), std::end(kMethods), method) ==
        std::end(kMethods)) {
      return Invalid(
          rule.identity,
          absl::StrCat(
              "unknown method \"", method,
              "\" (Borrow, Repay, GetBorrow, ListOperations, GetMaxBorrowable, "
              "GetRiskUnit)"));
    }
    rule.methods.insert(method);
  }
  rule.admin = caller.admin();
  rule.read_all_borrows = caller.read_all_borrows();
  rule.group_ids.insert(caller.group_ids().begin(), caller.group_ids().end());
  for (int asset : caller.assets()) {
    const std::string code =
        api::AssetCode(static_cast<institutional_loan::v1::Asset>(asset));
    if (code.empty()) return Invalid(rule.identity, "an unknown asset");
    rule.assets.insert(code);
  }
  if (!caller.max_amount_per_call().empty()) {
    absl::StatusOr<AmountUnits> max =
        ToAmountUnits(caller.max_amount_per_call());
    if (!max.ok()) {
      return Invalid(rule.identity, absl::StrCat("max_amount_per_call: ",
                                                 max.status().message()));
    }
    rule.max_amount_per_call = *max;
  }
  for (const policy::v1::RollingCap& cap : caller.caps()) {
    absl::StatusOr<CapRule> parsed = ToCap(rule.identity, cap);
    if (!parsed.ok()) return parsed.status();
    rule.caps.push_back(*parsed);
  }
  return rule;
}

absl::Status Refuse(contract::LocalEvent event, const CallerRule* rule,
                    const std::string& identity, absl::string_view message,
                    std::map<std::string, std::string> metadata = {}) {
  metadata["caller"] = identity;
  metadata["policy_rule"] = rule != nullptr
                                ? absl::StrCat("callers[", rule->identity, "]")
                                : "default: deny";
  return contract::RuleError(RuleForLocal(event), message, metadata);
}

}  // namespace

absl::Duration CallerRule::LongestWindow(const std::string& asset) const {
  absl::Duration longest = absl::ZeroDuration();
  for (const CapRule& cap : caps) {
    if (cap.asset == asset) longest = std::max(longest, cap.window);
  }
  return longest;
}

absl::StatusOr<AccessPolicy> AccessPolicy::FromMessage(
    const policy::v1::AccessPolicy& message) {
  AccessPolicy policy;
  for (const policy::v1::CallerPolicy& caller : message.callers()) {
    absl::StatusOr<CallerRule> rule = ToRule(caller);
    if (!rule.ok()) return rule.status();
    if (!policy.rules_.emplace(rule->identity, *rule).second) {
      return Invalid(rule->identity, "listed twice");
    }
  }
  return policy;
}

absl::StatusOr<AccessPolicy> AccessPolicy::Load(const std::string& path) {
  policy::v1::AccessPolicy message;
  if (absl::Status read = ReadMessageFile("policy file", path, message);
      !read.ok()) {
    return read;
  }
  absl::StatusOr<AccessPolicy> policy = FromMessage(message);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy file ", path, ": ", policy.status().message()));
  }
  return policy;
}

absl::StatusOr<const CallerRule*> AccessPolicy::Admit(
    const std::string& identity, const std::string& method) const {
  auto it = rules_.find(identity);
  if (it == rules_.end()) {
    return Refuse(contract::kCallerNotAllowedEvent, nullptr, identity,
                  absl::StrCat("caller ", identity,
                               " is not in the gateway's access policy"));
  }
  const bool allowed = IsAdminMethod(method)
                           ? it->second.admin
                           : it->second.methods.contains(method);
  if (!allowed) {
    return Refuse(contract::kMethodNotAllowedEvent, &it->second, identity,
                  absl::StrCat("caller ", identity, " may not call ", method),
                  {{"method", method}});
  }
  return &it->second;
}

absl::Status AccessPolicy::CheckBorrow(const CallerRule& rule, int64_t group_id,
                                       const std::string& asset,
                                       const std::string& amount) {
  if (absl::Status scope = CheckScope(rule, group_id, asset); !scope.ok()) {
    return scope;
  }
  return CheckBorrowAmount(rule, asset, amount);
}

absl::Status AccessPolicy::CheckScope(const CallerRule& rule, int64_t group_id,
                                      const std::string& asset) {
  if (absl::Status unit = CheckRiskUnit(rule, group_id); !unit.ok()) {
    return unit;
  }
  if (!rule.assets.contains(asset)) {
    return Refuse(
        contract::kAssetNotAllowedEvent, &rule, rule.identity,
        absl::StrCat("caller ", rule.identity, " may not borrow ", asset),
        {{"asset", asset}});
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckRiskUnit(const CallerRule& rule,
                                         int64_t group_id) {
  if (!rule.group_ids.contains(group_id)) {
    return Refuse(contract::kRiskUnitNotAllowedEvent, &rule, rule.identity,
                  absl::StrCat("caller ", rule.identity,
                               " may not borrow for risk unit ", group_id),
                  {{"group_id", absl::StrCat(group_id)}});
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckBorrowAmount(const CallerRule& rule,
                                             const std::string& asset,
                                             const std::string& amount) {
  absl::StatusOr<AmountUnits> units = ToAmountUnits(amount);
  if (!units.ok()) return units.status();  // Validated before; defensive.
  std::optional<AmountUnits> limit = rule.max_amount_per_call;
  // An amount above a cap could never pass it, whatever the window holds.
  for (const CapRule& cap : rule.caps) {
    if (cap.asset == asset && (!limit || cap.max < *limit)) limit = cap.max;
  }
  if (limit && *units > *limit) {
    return Refuse(
        contract::kAmountAboveCallerLimitEvent, &rule, rule.identity,
        absl::StrCat("amount ", amount, " ", asset, " is above caller ",
                     rule.identity, "'s limit of ", AmountText(*limit)),
        {{"max_amount", AmountText(*limit)}, {"asset", asset}});
  }
  return absl::OkStatus();
}

absl::Status AccessPolicy::CheckCaps(const CallerRule& rule,
                                     const std::string& asset,
                                     const std::string& amount,
                                     const std::vector<CountedBorrow>& counted,
                                     absl::Time now) {
  absl::StatusOr<AmountUnits> units = ToAmountUnits(amount);
  if (!units.ok()) return units.status();
  for (const CapRule& cap : rule.caps) {
    if (cap.asset != asset) continue;
    std::vector<CountedBorrow> inside;
    AmountUnits used = 0;
    for (const CountedBorrow& b : counted) {
      if (b.created > now - cap.window) {
        inside.push_back(b);
        used += b.amount;
      }
    }
    if (used + *units <= cap.max) continue;
    // The oldest borrows leave the window first: when enough have left.
    std::sort(inside.begin(), inside.end(),
              [](const CountedBorrow& a, const CountedBorrow& b) {
                return a.created < b.created;
              });
    AmountUnits freed = 0;
    absl::Duration wait = cap.window;
    for (const CountedBorrow& b : inside) {
      freed += b.amount;
      if (used - freed + *units <= cap.max) {
        wait = std::max(b.created + cap.window - now, absl::Seconds(1));
        break;
      }
    }
    const std::string window = absl::FormatDuration(cap.window);
    return contract::ErrorForRule(
        RuleForLocal(contract::kCallerCapReachedEvent),
        absl::StrCat("caller ", rule.identity, " has borrowed ",
                     AmountText(used), " ", asset, " in the last ", window,
                     " (borrows in flight and unknown ones count); ", amount,
                     " more would exceed its cap of ", AmountText(cap.max)),
        {{"caller", rule.identity},
         {"policy_rule", absl::StrCat("callers[", rule.identity, "].caps[",
                                      asset, "/", window, "]")},
         {"asset", asset},
         {"window", window},
         {"used", AmountText(used)},
         {"max_amount", AmountText(cap.max)}},
        wait, absl::StrCat("caller:", rule.identity, "/", asset, "/", window),
        absl::StrCat("at most ", AmountText(cap.max), " ", asset, " per ",
                     window));
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
