#include "reconcile/signed_reader.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "binance/borrow_response.h"

namespace loan_gateway {

std::string DescribeFailedRead(const HttpResult& result) {
  if (result.delivery != Delivery::kCompleted) {
    return absl::StrCat("unreachable (", result.error, ")");
  }
  if (auto error = binance::ParseBinanceError(result.body)) {
    return absl::StrCat("HTTP ", result.status, ", Binance code ", error->code,
                        ": ", error->msg);
  }
  return absl::StrCat("HTTP ", result.status,
                      result.status == 404
                          ? " (no such endpoint: is --upstream_base_urls a "
                            "bare scheme://host?)"
                          : "");
}

absl::StatusOr<std::string> SignedReader::Get(
    const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& params) const {
  absl::StatusOr<int64_t> now_ms = binance_clock_.NowMs();
  if (!now_ms.ok()) return now_ms.status();
  absl::Status last = absl::UnavailableError("no base URL");
  for (const std::string& base_url : base_urls_) {
    absl::StatusOr<HttpRequest> request = binance::BuildSignedRequest(
        HttpRequest::Method::kGet, base_url, path, params, *now_ms,
        recv_window_ms_, credentials_);
    if (!request.ok()) return request.status();
    absl::Notification done;
    HttpResult result;
    transport_.Send(*std::move(request), [&](HttpResult r) {
      result = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    if (result.delivery == Delivery::kCompleted && result.status == 200) {
      return result.body;
    }
    last = absl::UnavailableError(
        absl::StrCat(base_url, path, ": ", DescribeFailedRead(result)));
  }
  return last;
}

}  // namespace loan_gateway
