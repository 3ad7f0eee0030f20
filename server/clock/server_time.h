#ifndef LOAN_GATEWAY_SERVER_CLOCK_SERVER_TIME_H_
#define LOAN_GATEWAY_SERVER_CLOCK_SERVER_TIME_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "clock/clock.h"
#include "http/http_transport.h"

namespace loan_gateway {

// Parses Binance's GET /api/v3/time body: {"serverTime": <ms>}.
absl::StatusOr<int64_t> ParseServerTime(absl::string_view body);

// The offset between the local clock and Binance's, measured from
// GET /api/v3/time; half the round trip is its uncertainty.
class ServerTime {
 public:
  struct Offset {
    absl::Duration offset;       // Binance time minus local time.
    absl::Duration uncertainty;  // Half the round trip of the measurement.
    absl::Time measured_at;      // Local time of the measurement.
  };

  // `base_urls` are tried in order until one answers.
  ServerTime(const Clock& clock, HttpTransport& transport,
             std::vector<std::string> base_urls);

  // Measures the offset now; blocks until the answer (never call it from the
  // transport's thread). On failure the previous offset is kept.
  absl::Status Sync(absl::Duration timeout);

  // The same without blocking: `done` runs on the transport's thread.
  void SyncAsync(absl::Duration timeout,
                 std::function<void(absl::Status)> done);

  // Binance's current time in ms, or FAILED_PRECONDITION when no offset has
  // been measured yet.
  absl::StatusOr<int64_t> NowMs() const;

  std::optional<Offset> offset() const;

 private:
  const Clock& clock_;
  HttpTransport& transport_;
  void SyncFrom(size_t index, absl::Duration timeout, absl::Status last,
                std::function<void(absl::Status)> done);
  absl::Status Record(const HttpResult& result, absl::Time sent,
                      absl::Time received);

  const std::vector<std::string> base_urls_;
  mutable absl::Mutex mu_;
  std::optional<Offset> offset_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_SERVER_TIME_H_
