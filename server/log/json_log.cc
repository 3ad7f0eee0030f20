#include "log/json_log.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "log/utf8.h"

namespace loan_gateway {

namespace {

// The line is the message alone: LogLine has already built the JSON.
void InstallJsonLogger(std::shared_ptr<spdlog::logger> logger) {
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace

void InitJsonLog() {
  InstallJsonLogger(spdlog::stdout_logger_mt("loan-gateway"));
}

void InitJsonLogForTesting(std::ostream& out) {
  InstallJsonLogger(std::make_shared<spdlog::logger>(
      "loan-gateway-test",
      std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
}

namespace {

// A byte JSON takes as it is, and that needs no UTF-8 decoding.
bool IsPlainAscii(unsigned char c) {
  return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

// Appends `c` (a whole, valid UTF-8 unit of `size` bytes at `at`) escaped
// as JSON requires.
void AppendEscaped(std::string* out, char32_t c, const char* at, size_t size) {
  if (c == '"') {
    out->append("\\\"");
  } else if (c == '\\') {
    out->append("\\\\");
  } else if (c == '\n') {
    out->append("\\n");
  } else if (c == '\r') {
    out->append("\\r");
  } else if (c == '\t') {
    out->append("\\t");
  } else if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 ||
             c == 0x2029) {
    // C0 controls must be escaped in JSON; DEL and the C1 controls are
    // escaped too so no terminal interprets them, and U+2028/U+2029 because
    // some readers take them for line ends.
    absl::StrAppendFormat(out, "\\u%04x", static_cast<uint32_t>(c));
  } else {
    out->append(at, size);
  }
}

}  // namespace

// Whatever bytes a caller sends, the result is valid UTF-8 and valid JSON:
// one JSON-lines reader that fails on a line loses the whole log stream to it.
void AppendJsonQuoted(std::string* out, absl::string_view text) {
  out->push_back('"');
  while (!text.empty()) {
    // Runs of plain ASCII (most of every line) are copied whole: decoding
    // each byte as UTF-8 was half of a log line's cost.
    size_t plain = 0;
    while (plain < text.size() &&
           IsPlainAscii(static_cast<unsigned char>(text[plain]))) {
      ++plain;
    }
    out->append(text.data(), plain);
    text.remove_prefix(plain);
    if (text.empty()) break;
    const Utf8Unit unit = NextUtf8Unit(text);
    if (!unit.valid) {
      // Escaped rather than raw U+FFFD so a replacement stands out in the
      // raw line and cannot be mistaken for a caller's own U+FFFD.
      out->append("\\ufffd");
    } else {
      AppendEscaped(out, unit.code_point, text.data(), unit.size);
    }
    text.remove_prefix(unit.size);
  }
  out->push_back('"');
}

std::string JsonQuote(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonQuoted(&out, text);
  return out;
}

namespace {

// "YYYY-MM-DDTHH:MM:SS.mmmZ" for `now`: the part to the second is formatted
// once a second per thread (absl::FormatTime was a fifth of a log line).
void AppendTimestamp(std::string* out, absl::Time now) {
  thread_local int64_t formatted_second = -1;
  thread_local std::string to_the_second;
  const int64_t ms = absl::ToUnixMillis(now);
  const int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != formatted_second) {
    to_the_second =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                         absl::UTCTimeZone());
    formatted_second = second;
  }
  absl::StrAppendFormat(out, "\"%s.%03dZ\"", to_the_second,
                        static_cast<int>(ms - second * 1000));
}

}  // namespace

LogLine::LogLine(absl::string_view level, absl::string_view event)
    : level_(level) {
  json_.reserve(512);
  json_.append("{\"ts\":");
  AppendTimestamp(&json_, absl::Now());
  json_.append(",\"level\":");
  AppendJsonQuoted(&json_, level);
  json_.append(",\"event\":");
  AppendJsonQuoted(&json_, event);
}

void LogLine::Key(absl::string_view key) {
  json_.push_back(',');
  AppendJsonQuoted(&json_, key);
  json_.push_back(':');
}

LogLine& LogLine::Str(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendJsonQuoted(&json_, value);
  return *this;
}

LogLine& LogLine::Int(absl::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&json_, value);
  return *this;
}

LogLine& LogLine::Ms(absl::string_view key, absl::Duration value) {
  const double ms = absl::ToDoubleMilliseconds(value);
  Key(key);
  // An infinite duration would print "inf", which is not JSON.
  if (std::isfinite(ms)) {
    absl::StrAppendFormat(&json_, "%.3f", ms);
  } else {
    json_.append("null");
  }
  return *this;
}

void LogLine::Emit() {
  json_.push_back('}');
  const spdlog::level::level_enum level = level_ == "error" ? spdlog::level::err
                                          : level_ == "warn"
                                              ? spdlog::level::warn
                                              : spdlog::level::info;
  // The line as it is: no format string to parse and copy it through.
  spdlog::default_logger_raw()->log(level, spdlog::string_view_t(json_));
}

}  // namespace loan_gateway
