#ifndef LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_
#define LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
// Utf8Prefix, for callers that cut a value to a size before logging it.
#include "log/utf8.h"  // IWYU pragma: export

namespace loan_gateway {

// Sends log lines to stdout, one JSON object per line (spdlog underneath).
void InitJsonLog();

// The same lines, formatted the same way, to `out` (which must outlive every
// later log line): for tests and fuzzers that read the lines back.
void InitJsonLogForTesting(std::ostream& out);

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
  void Key(absl::string_view key);

  std::string level_;
  std::string json_;
};

// `text` as a JSON string literal, quotes included. Always valid UTF-8 and
// valid JSON: each ill-formed UTF-8 subpart becomes \ufffd, control
// characters (C0, DEL, C1) and U+2028/U+2029 become \u escapes.
std::string JsonQuote(absl::string_view text);
// The same, appended to `out`.
void AppendJsonQuoted(std::string* out, absl::string_view text);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_LOG_JSON_LOG_H_
