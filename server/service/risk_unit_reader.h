#ifndef LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_READER_H_
#define LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_READER_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "binance/risk_unit_details.h"
#include "binance/signed_request.h"
#include "breaker/ban_breaker.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "clock/clock.h"
#include "http/http_transport.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"
#include "service/borrow_limit_cache.h"

namespace loan_gateway {

// The maximum a risk unit may still borrow of an asset, as Binance said.
struct MaxBorrowable {
  std::optional<std::string> amount;  // Exact; nullopt: Binance does not know.
  absl::Time read_at;
};

// Signed reads of a risk unit's state at Binance, asynchronous (no gRPC
// thread waits): each takes this gateway's IP weight first (12000 a minute
// for SAPI), honours the ban breaker, tries the base URLs in turn while
// nothing was sent, and maps a failure to the error contract. A read
// executes nothing, so a failure is UNAVAILABLE (try again), never UNKNOWN.
class RiskUnitReader {
 public:
  struct Deps {
    HttpTransport* transport = nullptr;
    BinanceClock* binance_clock = nullptr;
    binance::Credentials credentials;
    const Clock* clock = nullptr;
    BanBreaker* breaker = nullptr;
    BorrowLimitCache* limits = nullptr;  // Filled by every answer.
    // This gateway's SAPI IP weight, shared with reconciliation's reads.
    WeightBudget* ip_budget = nullptr;
  };
  RiskUnitReader(const config::v1::UpstreamConfig& upstream, Deps deps);

  using MaxBorrowableDone = std::function<void(absl::StatusOr<MaxBorrowable>)>;
  // GET max-borrowable (weight 100 IP); `done` runs on the HTTP thread.
  void GetMaxBorrowable(int64_t group_id, const std::string& asset,
                        MaxBorrowableDone done);

  using RiskUnitDone =
      std::function<void(absl::StatusOr<binance::RiskUnitDetails>)>;
  // GET ltv-details for one risk unit (counted as 3000 IP); NOT_FOUND /
  // RISK_UNIT_NOT_FOUND when Binance lists no such unit for this key.
  void GetRiskUnit(int64_t group_id, RiskUnitDone done);

 private:
  using BodyDone = std::function<void(absl::StatusOr<std::string>)>;
  void SignedGet(std::string path,
                 std::vector<std::pair<std::string, std::string>> params,
                 size_t base_url_index, BodyDone done);

  const config::v1::UpstreamConfig upstream_;
  const Deps deps_;
};

// The error contract's answer to a failed read (exposed for tests).
absl::Status ReadError(const HttpResult& result);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_RISK_UNIT_READER_H_
