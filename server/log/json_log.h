#ifndef LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_
#define LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace loan_gateway {

// Sends log lines to stdout, one JSON object per line (spdlog underneath).
void InitJsonLog();

// Builds and emits one JSON log line:
//   LogLine("info", "borrow").Str("request_id", id).Int("group_id", 7).Emit();
// Callers pass only values that are safe to log: never a key, secret,
// signature, signed payload or a signed GET URL.
class LogLine {
 public:
  LogLine(absl::string_view level, absl::string_view event);
  LogLine& Str(absl::string_view key, absl::string_view value);
  LogLine& Int(absl::string_view key, int64_t value);
  LogLine& Ms(absl::string_view key, absl::Duration value);
  void Emit();

  const std::string& json() const { return json_; }

 private:
  std::string level_;
  std::string json_;
};

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_
