#include "clock/binance_clock.h"

#include <simdjson.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "executor/await_callback.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::StatusOr<int64_t> ParseServerTime(absl::string_view body) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body.data(), body.size());
  simdjson::ondemand::document doc;
  int64_t ms = 0;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc["serverTime"].get_int64().get(ms) != simdjson::SUCCESS || ms <= 0) {
    return absl::InvalidArgumentError("unreadable /api/v3/time answer");
  }
  return ms;
}

BinanceClock::BinanceClock(const Clock& clock, HttpTransport& transport,
                           std::vector<std::string> base_urls)
    : clock_(clock), transport_(transport), base_urls_(std::move(base_urls)) {}

absl::Status BinanceClock::Sync(absl::Duration timeout) {
  return AwaitCallback<absl::Status>(
      [&](std::function<void(absl::Status)> done) {
        SyncAsync(timeout, std::move(done));
      });
}

void BinanceClock::SyncAsync(absl::Duration timeout,
                             std::function<void(absl::Status)> done) {
  SyncFrom(0, timeout, absl::FailedPreconditionError("no base URL configured"),
           [this, done = std::move(done)](absl::Status status) {
             {
               absl::MutexLock lock(&mu_);
               last_error_ = status;
             }
             done(std::move(status));
           });
}

std::optional<absl::Time> BinanceClock::last_synced_at() const {
  absl::MutexLock lock(&mu_);
  return last_synced_at_;
}

absl::Status BinanceClock::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

// Tries base_urls_[index], then the next ones, until one answers.
void BinanceClock::SyncFrom(size_t index, absl::Duration timeout,
                            absl::Status last,
                            std::function<void(absl::Status)> done) {
  if (index >= base_urls_.size()) {
    done(std::move(last));
    return;
  }
  HttpRequest request;
  request.url = base_urls_[index] + "/api/v3/time";
  request.timeout = timeout;
  const absl::Time sent = clock_.Now();
  transport_.Send(
      std::move(request), [this, index, timeout, sent,
                           done = std::move(done)](HttpResult result) mutable {
        absl::Status status = Record(result, sent, clock_.Now());
        if (status.ok()) {
          done(status);
        } else {
          SyncFrom(index + 1, timeout, std::move(status), std::move(done));
        }
      });
}

absl::Status BinanceClock::Record(const HttpResult& result, absl::Time sent,
                                  absl::Time received) {
  if (result.delivery != Delivery::kCompleted || result.status != 200) {
    return absl::UnavailableError(absl::StrCat(
        "GET /api/v3/time: ",
        result.delivery != Delivery::kCompleted
            ? absl::StrCat("unreachable (", result.error, ")")
            : absl::StrCat("HTTP ", result.status,
                           result.status == 404
                               ? " (no such endpoint: is --upstream_base_urls "
                                 "a bare scheme://host?)"
                               : "")));
  }
  absl::StatusOr<int64_t> server_ms = ParseServerTime(result.body);
  if (!server_ms.ok()) return server_ms.status();
  const absl::Duration half_trip = (received - sent) / 2;
  const absl::Time midpoint = sent + half_trip;
  const Offset sample{absl::FromUnixMillis(*server_ms) - midpoint, half_trip,
                      received};
  std::optional<Offset> disproven;
  {
    absl::MutexLock lock(&mu_);
    last_synced_at_ = received;
    const Verdict verdict =
        offset_ ? Judge(*offset_, sample) : Verdict::kReplace;
    if (verdict == Verdict::kKeepCurrent) return absl::OkStatus();
    if (verdict == Verdict::kCurrentDisproven) disproven = offset_;
    offset_ = sample;
  }
  if (disproven) {
    // A clock was stepped; the difference is how far off timestamps signed
    // with the previous offset were, which an operator may need.
    LogLine("warn", "server_time_offset_disproven")
        .Ms("previous_offset_ms", disproven->offset)
        .Ms("previous_uncertainty_ms", disproven->uncertainty)
        .Ms("offset_ms", sample.offset)
        .Ms("uncertainty_ms", sample.uncertainty)
        .Emit();
  }
  return absl::OkStatus();
}

BinanceClock::Verdict BinanceClock::Judge(const Offset& current,
                                          const Offset& sample) {
  const absl::Duration age = sample.measured_at - current.measured_at;
  if (age < absl::ZeroDuration() || age > kMaxSampleAge) {
    return Verdict::kReplace;
  }
  const absl::Duration aged_uncertainty =
      current.uncertainty + age * kAssumedDriftRate;
  if (sample.uncertainty <= aged_uncertainty) return Verdict::kReplace;
  if (absl::AbsDuration(sample.offset - current.offset) >
      sample.uncertainty + aged_uncertainty) {
    return Verdict::kCurrentDisproven;
  }
  return Verdict::kKeepCurrent;
}

absl::StatusOr<int64_t> BinanceClock::NowMs() const {
  absl::MutexLock lock(&mu_);
  if (!offset_) {
    return absl::FailedPreconditionError(
        "Binance server time is not known yet");
  }
  return absl::ToUnixMillis(clock_.Now() + offset_->offset);
}

std::optional<BinanceClock::Offset> BinanceClock::offset() const {
  absl::MutexLock lock(&mu_);
  return offset_;
}

}  // namespace loan_gateway
