#include "budget/ban_breaker.h"

#include "absl/strings/str_cat.h"
#include "errors/error_details.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::Status BanBreaker::Check() const {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  if (now >= open_until_) return absl::OkStatus();
  google::rpc::ErrorInfo cause_info;
  errors::GetDetail(cause_, &cause_info);
  absl::Status status = errors::MakeError(
      cause_.code(),
      absl::StrCat("held by the gateway: Binance refused the credit account (",
                   cause_.message(), "); nothing was sent"),
      cause_info.reason(),
      {{"breaker", "open"},
       {"breaker_open_until",
        absl::FormatTime(absl::RFC3339_sec, open_until_, absl::UTCTimeZone())},
       {"outcome", "REJECTED"}});
  for (const char* key : {"binance_code", "http_status"}) {
    auto it = cause_info.metadata().find(key);
    if (it != cause_info.metadata().end()) {
      errors::AddErrorMetadata(status, {{it->first, it->second}});
    }
  }
  errors::AttachRetryInfo(status, open_until_ - now);
  return status;
}

void BanBreaker::Trip(const absl::Status& cause, absl::Duration hold) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  const absl::Time until = now + hold;
  if (until <= open_until_) return;
  const bool was_open = now < open_until_;
  open_until_ = until;
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
