#ifndef LOAN_GATEWAY_SERVER_RECONCILE_SIGNED_READER_H_
#define LOAN_GATEWAY_SERVER_RECONCILE_SIGNED_READER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "binance/signed_request.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "http/http_transport.h"

namespace loan_gateway {

// Signed GETs to Binance (reads: safe to repeat), each base URL in turn until
// one answers 200. Blocks the calling thread (never the transport's).
class SignedReader {
 public:
  // `ip_budget` (optional) is this gateway's SAPI IP weight: each Get takes
  // kRecordsWeight of it first, or fails without sending.
  SignedReader(std::vector<std::string> base_urls, int64_t recv_window_ms,
               HttpTransport& transport, BinanceClock& binance_clock,
               binance::Credentials credentials,
               WeightBudget* ip_budget = nullptr)
      : base_urls_(std::move(base_urls)),
        recv_window_ms_(recv_window_ms),
        transport_(transport),
        binance_clock_(binance_clock),
        credentials_(credentials),
        ip_budget_(ip_budget) {}

  // GET .../borrow-repay costs 10 of the IP's weight.
  static constexpr int64_t kRecordsWeight = 10;

  // The body of a 200 answer; otherwise UNAVAILABLE saying what happened
  // (unreachable, Binance's code and text, or the HTTP status), never the
  // URL (a signed GET's query string holds the signature).
  absl::StatusOr<std::string> Get(
      const std::string& path,
      const std::vector<std::pair<std::string, std::string>>& params) const;

 private:
  const std::vector<std::string> base_urls_;
  const int64_t recv_window_ms_;
  HttpTransport& transport_;
  BinanceClock& binance_clock_;
  const binance::Credentials credentials_;
  WeightBudget* const ip_budget_;
};

// What an answer other than 200 says, for logs and errors.
std::string DescribeFailedRead(const HttpResult& result);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_RECONCILE_SIGNED_READER_H_
