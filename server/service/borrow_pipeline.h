#ifndef LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "binance/signed_request.h"
#include "clock/clock.h"
#include "clock/server_time.h"
#include "http/http_transport.h"
#include "institutional_loan/v1/institutional_loan.pb.h"

namespace loan_gateway {

struct BorrowPipelineOptions {
  std::vector<std::string>
      base_urls;  // Tried in order, only while nothing was sent.
  int64_t recv_window_ms = 5000;
  absl::Duration upstream_timeout = absl::Seconds(10);
  absl::Duration max_clock_uncertainty = absl::Seconds(1);
};

// The stages of one Borrow, independent of gRPC:
//   validate -> clock ok -> sign with a fresh timestamp -> send (async)
//   -> classify (SUCCEEDED | REJECTED | UNKNOWN) -> answer.
// It never resends a request that may have reached Binance; only a request
// that provably never left is tried once more, against the next base URL.
class BorrowPipeline {
 public:
  // Runs once per call, possibly on the HTTP transport's thread. Errors carry
  // their google.rpc details and always the call's request_id.
  using Done = std::function<void(
      absl::StatusOr<institutional_loan::v1::BorrowResponse>)>;

  BorrowPipeline(BorrowPipelineOptions options, HttpTransport& transport,
                 const ServerTime& server_time,
                 binance::Credentials credentials, const Clock& clock);

  // `caller` identifies the peer for the log line.
  void Borrow(const institutional_loan::v1::BorrowRequest& request,
              std::string caller, Done done);

 private:
  struct Call;
  void Send(const std::shared_ptr<Call>& call);
  void Finish(const std::shared_ptr<Call>& call,
              absl::StatusOr<institutional_loan::v1::BorrowResponse> result);
  absl::Status CheckClock() const;

  const BorrowPipelineOptions options_;
  HttpTransport& transport_;
  const ServerTime& server_time_;
  const binance::Credentials credentials_;
  const Clock& clock_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_BORROW_PIPELINE_H_
