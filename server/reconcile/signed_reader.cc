#include "reconcile/signed_reader.h"

#include "absl/strings/str_cat.h"
#include "binance/borrow_response.h"
#include "executor/await_callback.h"

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
  if (ip_budget_ != nullptr) {
    if (absl::Status weight = ip_budget_->TryReserve(kRecordsWeight);
        !weight.ok()) {
      return weight;
    }
  }
  absl::Status last = absl::UnavailableError("no base URL");
  for (const std::string& base_url : base_urls_) {
    absl::StatusOr<HttpRequest> request = binance::BuildSignedRequest(
        HttpRequest::Method::kGet, base_url, path, params, *now_ms,
        recv_window_ms_, credentials_);
    if (!request.ok()) return request.status();
    const HttpResult result =
        AwaitCallback<HttpResult>([&](std::function<void(HttpResult)> done) {
          transport_.Send(*std::move(request), std::move(done));
        });
    if (result.delivery == Delivery::kCompleted && result.status == 200) {
      return result.body;
    }
    last = absl::UnavailableError(
        absl::StrCat(base_url, path, ": ", DescribeFailedRead(result)));
  }
  return last;
}

}  // namespace loan_gateway
