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

// Whatever bytes a caller sends, the result is valid UTF-8 and valid JSON:
// one JSON-lines reader that fails on a line loses the whole log stream to it.
std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  while (!text.empty()) {
    const Utf8Unit unit = NextUtf8Unit(text);
    const char32_t c = unit.code_point;
    if (!unit.valid) {
      // Escaped rather than raw U+FFFD so a replacement stands out in the
      // raw line and cannot be mistaken for a caller's own U+FFFD.
      out += "\\ufffd";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 ||
               c == 0x2029) {
      // C0 controls must be escaped in JSON; DEL and the C1 controls are
      // escaped too so no terminal interprets them, and U+2028/U+2029 because
      // some readers take them for line ends.
      out += absl::StrFormat("\\u%04x", static_cast<uint32_t>(c));
    } else {
      out.append(text.data(), unit.size);
    }
    text.remove_prefix(unit.size);
  }
  out.push_back('"');
  return out;
}

LogLine::LogLine(absl::string_view level, absl::string_view event)
    : level_(level) {
  json_ = absl::StrCat(
      "{\"ts\":",
      JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                 absl::UTCTimeZone())),
      ",\"level\":", JsonQuote(level), ",\"event\":", JsonQuote(event));
}

LogLine& LogLine::Str(absl::string_view key, absl::string_view value) {
  absl::StrAppend(&json_, ",", JsonQuote(key), ":", JsonQuote(value));
  return *this;
}

LogLine& LogLine::Int(absl::string_view key, int64_t value) {
  absl::StrAppend(&json_, ",", JsonQuote(key), ":", value);
  return *this;
}

LogLine& LogLine::Ms(absl::string_view key, absl::Duration value) {
  const double ms = absl::ToDoubleMilliseconds(value);
  // An infinite duration would print "inf", which is not JSON.
  absl::StrAppend(&json_, ",", JsonQuote(key), ":",
                  std::isfinite(ms) ? absl::StrFormat("%.3f", ms) : "null");
  return *this;
}

void LogLine::Emit() {
  json_.push_back('}');
  auto logger = spdlog::default_logger_raw();
  if (level_ == "error") {
    logger->error("{}", json_);
  } else if (level_ == "warn") {
    logger->warn("{}", json_);
  } else {
    logger->info("{}", json_);
  }
}

}  // namespace loan_gateway
