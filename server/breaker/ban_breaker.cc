#include "breaker/ban_breaker.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "contract/rule_error.h"
#include "errors/error_details.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::Status BanBreaker::Check() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (now >= open_until_) return absl::OkStatus();
  google::rpc::ErrorInfo cause_info;
  errors::GetDetail(cause_, &cause_info);
  const std::string until =
      absl::FormatTime(absl::RFC3339_sec, open_until_, absl::UTCTimeZone());
  std::map<std::string, std::string> metadata = {{"breaker", "open"},
                                                 {"breaker_open_until", until}};
  for (const char* key : {"binance_code", "http_status"}) {
    auto it = cause_info.metadata().find(key);
    if (it != cause_info.metadata().end()) metadata[key] = it->second;
  }
  // The row of the answer that opened it: the same code and reason.
  return contract::ErrorForRule(
      *cause_rule_,
      absl::StrCat("held by the gateway: Binance refused the credit account (",
                   cause_.message(), "); nothing was sent"),
      metadata, open_until_ - now, "binance_credit_account",
      absl::StrCat("every borrow is held until ", until));
}

void BanBreaker::Trip(const contract::ErrorRule& cause_rule,
                      const absl::Status& cause, absl::Duration hold) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  const absl::Time until = now + hold;
  if (until <= open_until_) return;
  const bool was_open = now < open_until_;
  open_until_ = until;
  cause_rule_ = &cause_rule;
  cause_ = cause;
  // Every borrow of every caller is held from now on: an operator must hear.
  LogLine("warn", was_open ? "ban_breaker_extended" : "ban_breaker_open")
      .Str("until",
           absl::FormatTime(absl::RFC3339_sec, until, absl::UTCTimeZone()))
      .Ms("hold_ms", hold)
      .Str("cause", std::string(cause.message()))
      .Emit();
}

bool BanBreaker::open() const {
  absl::MutexLock lock(&mu_);
  return clock_.Now() < open_until_;
}

}  // namespace loan_gateway
