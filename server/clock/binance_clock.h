#ifndef LOAN_GATEWAY_SERVER_CLOCK_BINANCE_CLOCK_H_
#define LOAN_GATEWAY_SERVER_CLOCK_BINANCE_CLOCK_H_

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
//
// It keeps the best recent sample rather than the last one: one slow answer
// (a 2.5 s round trip is +/-1.25 s) must not replace a good offset, or every
// borrow is refused as too uncertain until the next resync. A new sample
// replaces the current offset when
//  - it is no more uncertain than the current one is by now: the current
//    uncertainty grows by kAssumedDriftRate per second since it was measured,
//    so a fresh sample of about the same quality wins over an older one; or
//  - the current one is older than kMaxSampleAge (or from the local clock's
//    future, which means the local clock was stepped back): beyond that the
//    drift assumption is not trusted and the new sample, however uncertain,
//    is what is known; or
//  - the two disagree by more than both uncertainties: they cannot both be
//    right, and the newer one is the one to trust (a clock was stepped; Binance
//    answering -1021 and the resync after it is how that shows).
class BinanceClock {
 public:
  struct Offset {
    absl::Duration offset;       // Binance time minus local time.
    absl::Duration uncertainty;  // Half the round trip of the measurement.
    absl::Time measured_at;      // Local time of the measurement.
  };

  // How fast the two clocks may drift apart: the kernel slews an NTP-steered
  // clock by at most 500 ppm, well above the error of a free-running quartz.
  static constexpr double kAssumedDriftRate = 500e-6;
  // 10 resyncs at the default --time_sync_interval of 30 s.
  static constexpr absl::Duration kMaxSampleAge = absl::Minutes(5);

  // `base_urls` are tried in order until one answers.
  BinanceClock(const Clock& clock, HttpTransport& transport,
               std::vector<std::string> base_urls);

  // Measures the offset now; blocks until the answer (never call it from the
  // transport's thread). On failure the previous offset is kept; on success
  // the measurement replaces it only as described above (OK either way).
  absl::Status Sync(absl::Duration timeout);

  // The same without blocking: `done` runs on the transport's thread.
  void SyncAsync(absl::Duration timeout,
                 std::function<void(absl::Status)> done);

  // Binance's current time in ms, or FAILED_PRECONDITION when no offset has
  // been measured yet.
  absl::StatusOr<int64_t> NowMs() const;

  // The offset in use, as measured (its uncertainty is not aged; it is at
  // most kMaxSampleAge old unless no sync has succeeded since).
  std::optional<Offset> offset() const;

  // Why the last sync failed (OK when it succeeded or none ran yet): with no
  // offset at all, callers are told this rather than "clock skew".
  absl::Status last_error() const;

  // When Binance's clock was last read successfully (whether or not that
  // sample replaced the offset in use); none before the first.
  std::optional<absl::Time> last_synced_at() const;

 private:
  const Clock& clock_;
  HttpTransport& transport_;
  void SyncFrom(size_t index, absl::Duration timeout, absl::Status last,
                std::function<void(absl::Status)> done);
  absl::Status Record(const HttpResult& result, absl::Time sent,
                      absl::Time received);
  enum class Verdict { kReplace, kCurrentDisproven, kKeepCurrent };
  // Whether `sample` replaces `current` (see the class comment).
  static Verdict Judge(const Offset& current, const Offset& sample);

  const std::vector<std::string> base_urls_;
  mutable absl::Mutex mu_;
  std::optional<Offset> offset_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_synced_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_CLOCK_BINANCE_CLOCK_H_
