#include "binance/borrow_outcome.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "binance/borrow_records.h"
#include "binance/error_message_templates.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "google/rpc/error_details.pb.h"
#include "validate/decimal.h"

namespace loan_gateway::binance {

using contract::ErrorForRule;
using contract::ErrorRule;
using contract::ExtraDetail;
using contract::RuleForBinanceCode;
using contract::RuleForHttpStatus;
using contract::RuleForTransport;

namespace {

std::optional<absl::Duration> RetryAfterHeader(const HttpResult& result) {
  auto it = result.headers.find("retry-after");
  int64_t seconds = 0;
  if (it == result.headers.end() || !absl::SimpleAtoi(it->second, &seconds) ||
      seconds < 0) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

const ErrorRule& RuleForRejection(long http_status,
                                  const std::optional<BinanceError>& error) {
  if (error) {
    if (const ErrorRule* rule = RuleForBinanceCode(error->code)) return *rule;
    if (error->code <= -1100 && error->code >= -1131) {
      return RuleForTransport(contract::kParameterCodeEvent);
    }
  }
  if (http_status >= 400 && http_status < 500)
    return RuleForTransport(contract::kOther4xxEvent);
  return RuleForTransport(contract::kOtherStatusEvent);
}

std::string Describe(const ErrorRule& rule, const HttpResult& result,
                     const std::optional<BinanceError>& error) {
  if (rule.outcome == Outcome::kUnknown) {
    return absl::StrCat(
        "the borrow may or may not have been executed (",
        result.delivery == Delivery::kCompleted
            ? absl::StrCat("HTTP ", result.status)
            : result.error,
        error ? absl::StrCat(", Binance code ", error->code) : "",
        "); do not resend it: look it up by request_id");
  }
  if (result.delivery == Delivery::kNotSent) {
    return absl::StrCat("Binance unreachable, nothing was sent: ",
                        result.error);
  }
  if (error) {
    return absl::StrCat("Binance rejected the borrow: ", error->code, " ",
                        error->msg);
  }
  return absl::StrCat("Binance rejected the borrow with HTTP ", result.status);
}

// Figures Binance stated in its documented message template. A maximum is
// stated only when Binance's text is about this very request (its asset and
// amount): a number for another asset or amount would be a wrong number in
// a money answer.
void AddStatedFigures(const StatedFigures& f, const ValidBorrow& borrow,
                      std::map<std::string, std::string>& metadata,
                      std::string& description) {
  const bool this_request =
      f.asset == borrow.asset_name &&
      Decimal::SameNumber(f.requested, borrow.amount.text());
  if (!f.max_amount.empty() && this_request) {
    metadata["max_amount"] = f.max_amount;
    description = absl::StrCat(
        "requested ", borrow.amount.text(), " ", borrow.asset_name,
        " exceeds the maximum borrowable ", f.max_amount, " ", f.asset);
  }
  if (!f.available.empty() && this_request) {
    metadata["available_amount"] = f.available;
    description =
        absl::StrCat("requested ", borrow.amount.text(), " ", borrow.asset_name,
                     ", available margin ", f.available);
  }
  if (!f.ltv.empty()) {
    metadata["ltv"] = f.ltv;
    metadata["initial_ltv_threshold"] = f.initial_ltv;
    description =
        absl::StrCat("the risk unit's LTV ", f.ltv,
                     " is above the initial LTV threshold ", f.initial_ltv);
  }
}

}  // namespace

BorrowOutcome ClassifyBorrowResult(const HttpResult& result,
                                   const ValidBorrow& borrow) {
  BorrowOutcome out;
  out.http_status = result.delivery == Delivery::kCompleted ? result.status : 0;
  std::optional<BinanceError> error;
  const ErrorRule* rule = nullptr;
  if (result.delivery == Delivery::kNotSent) {
    rule = &RuleForTransport(contract::kNotSentEvent);
  } else if (result.delivery == Delivery::kMaybeSent) {
    rule = &RuleForTransport(contract::kMaybeSentEvent);
  } else {
    error = ParseBinanceError(result.body);
    if (error) out.binance_code = error->code;
    rule = RuleForHttpStatus(result.status);
    if (rule == nullptr && result.status >= 200 && result.status < 300) {
      absl::StatusOr<BorrowReceipt> receipt = ParseBorrowReceipt(result.body);
      if (receipt.ok()) {
        out.outcome = Outcome::kSucceeded;
        out.reason = "SUCCEEDED";
        out.receipt = *std::move(receipt);
        return out;
      }
      rule = &RuleForTransport(contract::kUnreadable2xxEvent);
    }
    if (rule == nullptr) rule = &RuleForRejection(result.status, error);
  }
  std::map<std::string, std::string> metadata = {
      {"group_id", absl::StrCat(borrow.group_id)},
      {"asset", borrow.asset_name},
      {"amount", borrow.amount.text()}};
  if (out.http_status != 0)
    metadata["http_status"] = absl::StrCat(out.http_status);
  if (error) {
    metadata["binance_code"] = absl::StrCat(error->code);
    metadata["binance_msg"] = error->msg;
  }
  if (!result.error.empty()) metadata["transport_error"] = result.error;
  std::string subject =
      absl::StrCat("risk_unit/", borrow.group_id, "/", borrow.asset_name);
  std::string description = error ? error->msg : Describe(*rule, result, error);
  if (error) {
    if (std::optional<StatedFigures> figures =
            ReadStatedFigures(error->code, error->msg)) {
      AddStatedFigures(*figures, borrow, metadata, description);
    }
  }
  if (rule->extra == ExtraDetail::kQuotaFailure)
    subject = "binance_credit_account_rate_limit";
  out.outcome = rule->outcome.value_or(Outcome::kUnknown);
  out.reason = contract::ReasonName(rule->reason);
  out.rule = rule;
  out.error = ErrorForRule(*rule, Describe(*rule, result, error), metadata,
                           RetryAfterHeader(result), subject, description);
  return out;
}

}  // namespace loan_gateway::binance
