#include "service/risk_unit_reader.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "binance/borrow_response.h"
#include "binance/max_borrowable.h"
#include "contract/error_table.h"
#include "contract/rule_error.h"
#include "proto_time/proto_time.h"

namespace loan_gateway {
namespace {

constexpr int64_t kMaxBorrowableWeight = 100;

absl::Status Unreachable(absl::string_view why) {
  return contract::RuleError(
      contract::RuleForQuery(contract::kReadUpstreamFailedEvent),
      absl::StrCat("the read from Binance failed (", why,
                   "); a read executes nothing: try again"));
}

}  // namespace

absl::Status ReadError(const HttpResult& result) {
  if (result.delivery != Delivery::kCompleted) {
    return Unreachable(result.error.empty() ? "no answer" : result.error);
  }
  std::optional<binance::BinanceError> error =
      binance::ParseBinanceError(result.body);
  const contract::ErrorRule* rule =
      error ? contract::RuleForBinanceCode(error->code) : nullptr;
  if (rule == nullptr) rule = contract::RuleForHttpStatus(result.status);
  // 5XX and unlisted answers: nothing executed, so no UNKNOWN for a read.
  if (rule == nullptr || rule->code == absl::StatusCode::kUnknown ||
      result.status >= 500) {
    return Unreachable(absl::StrCat("HTTP ", result.status));
  }
  std::map<std::string, std::string> metadata = {
      {"http_status", absl::StrCat(result.status)}};
  if (error) {
    metadata["binance_code"] = absl::StrCat(error->code);
    metadata["binance_msg"] = error->msg;
  }
  return contract::ErrorForRule(
      *rule,
      error ? absl::StrCat("Binance refused the read: ", error->code, " ",
                           error->msg)
            : absl::StrCat("Binance refused the read: HTTP ", result.status),
      metadata, std::nullopt, "", "");
}

RiskUnitReader::RiskUnitReader(const config::v1::UpstreamConfig& upstream,
                               Deps deps)
    : upstream_(upstream), deps_(deps) {}

void RiskUnitReader::GetMaxBorrowable(int64_t group_id,
                                      const std::string& asset,
                                      MaxBorrowableDone done) {
  if (absl::Status banned = deps_.breaker->Check(); !banned.ok()) {
    done(banned);
    return;
  }
  if (absl::Status weight = deps_.ip_budget->TryReserve(kMaxBorrowableWeight);
      !weight.ok()) {
    done(weight);
    return;
  }
  SignedGet(binance::kMaxBorrowablePath,
            {{"groupId", absl::StrCat(group_id)}, {"assetName", asset}}, 0,
            [this, group_id, asset,
             done = std::move(done)](absl::StatusOr<std::string> body) {
              if (!body.ok()) {
                done(body.status());
                return;
              }
              absl::StatusOr<std::optional<std::string>> amount =
                  binance::ParseMaxBorrowable(*body);
              if (!amount.ok()) {
                done(Unreachable(amount.status().message()));
                return;
              }
              const absl::Time now = deps_.clock->Now();
              if (deps_.limits != nullptr && amount->has_value()) {
                deps_.limits->Put(group_id, asset, **amount, now);
              }
              done(MaxBorrowable{*amount, now});
            });
}

void RiskUnitReader::GetRiskUnit(int64_t group_id, RiskUnitDone done) {
  if (absl::Status banned = deps_.breaker->Check(); !banned.ok()) {
    done(banned);
    return;
  }
  if (absl::Status weight =
          deps_.ip_budget->TryReserve(binance::kLtvDetailsWeight);
      !weight.ok()) {
    done(weight);
    return;
  }
  SignedGet(
      binance::kLtvDetailsPath, {{"groupId", absl::StrCat(group_id)}}, 0,
      [group_id, done = std::move(done)](absl::StatusOr<std::string> body) {
        if (!body.ok()) {
          done(body.status());
          return;
        }
        absl::StatusOr<std::optional<binance::RiskUnitDetails>> unit =
            binance::ParseRiskUnitDetails(*body, group_id);
        if (!unit.ok()) {
          done(Unreachable(unit.status().message()));
          return;
        }
        if (!unit->has_value()) {
          done(contract::RuleError(
              contract::RuleForQuery(contract::kRiskUnitUnlistedEvent),
              absl::StrCat("Binance lists no risk unit ", group_id,
                           " for the credit account's key")));
          return;
        }
        done(**std::move(unit));
      });
}

void RiskUnitReader::SignedGet(
    std::string path, std::vector<std::pair<std::string, std::string>> params,
    size_t base_url_index, BodyDone done) {
  absl::StatusOr<int64_t> now_ms = deps_.binance_clock->NowMs();
  if (!now_ms.ok()) {
    done(Unreachable(absl::StrCat("Binance's time is unknown: ",
                                  now_ms.status().message())));
    return;
  }
  absl::StatusOr<HttpRequest> request = binance::BuildSignedRequest(
      HttpRequest::Method::kGet,
      upstream_.base_urls(static_cast<int>(base_url_index)), path, params,
      *now_ms, upstream_.recv_window_ms(), deps_.credentials);
  if (!request.ok()) {
    done(Unreachable("the gateway could not sign it"));
    return;
  }
  request->timeout = FromProtoDuration(upstream_.timeout());
  deps_.transport->Send(
      *std::move(request),
      [this, path = std::move(path), params = std::move(params), base_url_index,
       done = std::move(done)](const HttpResult& result) {
        if (auto it = result.headers.find("x-sapi-used-ip-weight-1m");
            it != result.headers.end()) {
          int64_t used = 0;
          if (absl::SimpleAtoi(it->second, &used)) {
            deps_.ip_budget->ObserveUsed(used);
          }
        }
        if (result.delivery == Delivery::kCompleted && result.status == 200) {
          done(result.body);
          return;
        }
        // A read may go to the next base URL whatever happened: it
        // executes nothing.
        if (result.delivery != Delivery::kCompleted &&
            base_url_index + 1 <
                static_cast<size_t>(upstream_.base_urls_size())) {
          SignedGet(path, params, base_url_index + 1, done);
          return;
        }
        done(ReadError(result));
      });
}

}  // namespace loan_gateway
