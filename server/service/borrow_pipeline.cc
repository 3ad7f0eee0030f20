#include "service/borrow_pipeline.h"

#include "absl/strings/str_cat.h"
#include "binance/borrow_outcome.h"
#include "binance/error_table.h"
#include "errors/error_details.h"
#include "log/json_log.h"
#include "service/request_id.h"
#include "validate/borrow_request_validator.h"

namespace loan_gateway {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

struct BorrowPipeline::Call {
  std::string request_id;
  std::string caller;
  std::optional<ValidBorrow> borrow;
  Done done;
  absl::Time started;
  absl::Duration upstream_latency;
  size_t base_url_index = 0;
  // For the log line.
  std::string outcome = "REJECTED";
  std::string reason;
  std::optional<int64_t> binance_code;
  long http_status = 0;
  std::string transport_error;
};

BorrowPipeline::BorrowPipeline(BorrowPipelineOptions options,
                               HttpTransport& transport,
                               const ServerTime& server_time,
                               binance::Credentials credentials,
                               const Clock& clock)
    : options_(std::move(options)),
      transport_(transport),
      server_time_(server_time),
      credentials_(credentials),
      clock_(clock) {}

absl::Status BorrowPipeline::CheckClock() const {
  std::optional<ServerTime::Offset> offset = server_time_.offset();
  std::string problem;
  if (!offset) {
    problem =
        "Binance server time is unknown (GET /api/v3/time has not answered)";
  } else if (offset->uncertainty > options_.max_clock_uncertainty) {
    problem = absl::StrCat("Binance server time is too uncertain (+/-",
                           absl::FormatDuration(offset->uncertainty), ")");
  } else {
    return absl::OkStatus();
  }
  const binance::ErrorRule* rule = binance::RuleForBinanceCode(-1021);
  return binance::ErrorForRule(*rule,
                               absl::StrCat(problem, "; nothing was sent"),
                               {{"outcome", "REJECTED"}}, std::nullopt, "", "");
}

void BorrowPipeline::Borrow(const BorrowRequest& request, std::string caller,
                            Done done) {
  auto call = std::make_shared<Call>();
  call->caller = std::move(caller);
  call->done = std::move(done);
  call->started = clock_.Now();
  call->request_id =
      IsUuid(request.request_id()) ? request.request_id() : GenerateRequestId();
  absl::StatusOr<ValidBorrow> borrow = ValidateBorrowRequest(request);
  if (!borrow.ok()) {
    call->reason = "INVALID_REQUEST";
    // An invalid caller-given id is echoed as given, so the caller can match
    // it.
    if (!request.request_id().empty()) {
      call->request_id = request.request_id().substr(0, 128);
    }
    Finish(call, borrow.status());
    return;
  }
  call->borrow = *std::move(borrow);
  if (absl::Status clock = CheckClock(); !clock.ok()) {
    call->reason = "CLOCK_SKEW";
    Finish(call, clock);
    return;
  }
  Send(call);
}

void BorrowPipeline::Send(const std::shared_ptr<Call>& call) {
  absl::StatusOr<int64_t> now_ms = server_time_.NowMs();
  absl::StatusOr<HttpRequest> request =
      now_ms.ok() ? binance::BuildBorrowRequest(
                        *call->borrow, options_.base_urls[call->base_url_index],
                        *now_ms, options_.recv_window_ms, credentials_)
                  : absl::StatusOr<HttpRequest>(now_ms.status());
  if (!request.ok()) {
    call->reason = "SIGNING_FAILED";
    Finish(call, errors::MakeError(
                     absl::StatusCode::kInternal,
                     "the gateway could not sign the request; nothing was sent",
                     "SIGNING_FAILED", {{"outcome", "REJECTED"}}));
    return;
  }
  request->timeout = options_.upstream_timeout;
  const absl::Time sent_at = clock_.Now();
  transport_.Send(
      *std::move(request), [this, call, sent_at](const HttpResult& result) {
        call->upstream_latency += clock_.Now() - sent_at;
        const bool another_url =
            call->base_url_index + 1 < options_.base_urls.size();
        if (result.delivery == Delivery::kNotSent && another_url) {
          // Provably never left this process: safe to try the next base URL
          // once.
          LogLine("warn", "upstream_unreachable")
              .Str("request_id", call->request_id)
              .Str("base_url", options_.base_urls[call->base_url_index])
              .Str("error", result.error)
              .Emit();
          ++call->base_url_index;
          Send(call);
          return;
        }
        binance::BorrowOutcome outcome =
            binance::ClassifyBorrowResult(result, *call->borrow);
        call->outcome = std::string(binance::OutcomeClassName(outcome.outcome));
        call->reason = outcome.reason;
        call->binance_code = outcome.binance_code;
        call->http_status = outcome.http_status;
        call->transport_error = result.error;
        if (outcome.outcome != binance::OutcomeClass::kSucceeded) {
          Finish(call, outcome.error);
          return;
        }
        BorrowResponse response;
        response.set_transaction_id(outcome.receipt->transaction_id);
        response.set_amount(
            outcome.receipt->amount.value_or(call->borrow->amount.text()));
        response.set_status(institutional_loan::v1::BORROW_STATUS_SUCCEEDED);
        response.set_group_id(call->borrow->group_id);
        response.set_asset(call->borrow->asset);
        Finish(call, std::move(response));
      });
}

void BorrowPipeline::Finish(const std::shared_ptr<Call>& call,
                            absl::StatusOr<BorrowResponse> result) {
  if (result.ok()) {
    result->set_request_id(call->request_id);
  } else {
    absl::Status status = result.status();
    errors::AddErrorMetadata(status, {{"request_id", call->request_id}});
    result = status;
  }
  LogLine line("info", "borrow");
  line.Str("request_id", call->request_id).Str("caller", call->caller);
  if (call->borrow) {
    line.Int("group_id", call->borrow->group_id)
        .Str("asset", call->borrow->asset_name)
        .Str("amount", call->borrow->amount.text());
  }
  line.Str("outcome", result.ok() ? "SUCCEEDED" : call->outcome)
      .Str("reason", result.ok() ? "SUCCEEDED" : call->reason)
      .Str("grpc_code", absl::StatusCodeToString(result.status().code()));
  if (result.ok()) line.Str("transaction_id", result->transaction_id());
  if (call->binance_code) line.Int("binance_code", *call->binance_code);
  if (call->http_status != 0) line.Int("http_status", call->http_status);
  if (!call->transport_error.empty())
    line.Str("transport_error", call->transport_error);
  line.Ms("upstream_ms", call->upstream_latency)
      .Ms("total_ms", clock_.Now() - call->started)
      .Emit();
  call->done(std::move(result));
}

}  // namespace loan_gateway
