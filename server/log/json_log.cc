#include "log/json_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace loan_gateway {

void InitJsonLog() {
  auto logger = spdlog::stdout_logger_mt("loan-gateway");
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += absl::StrFormat("\\u%04x", byte);
        } else {
          out.push_back(c);
        }
    }
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
  absl::StrAppend(&json_, ",", JsonQuote(key), ":",
                  absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(value)));
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
