// libFuzzer target: the JSON log writer. Arbitrary bytes as the event name, a
// key and values must still give exactly one line of valid UTF-8 JSON, and a
// value that was valid UTF-8 must read back unchanged.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "log/json_log.h"

namespace {

// The logger writes here for the whole run (see InitJsonLogForTesting).
std::ostringstream& Captured() {
  static std::ostringstream* const out = [] {
    auto* stream = new std::ostringstream;
    loan_gateway::InitJsonLogForTesting(*stream);
    return stream;
  }();
  return *out;
}

bool ValidUtf8(absl::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view whole(reinterpret_cast<const char*>(data), size);
  const absl::string_view event = whole.substr(0, size / 3);
  const absl::string_view key = whole.substr(size / 3, size / 3);
  const absl::string_view value = whole.substr(2 * (size / 3));
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  const absl::string_view prefix = loan_gateway::Utf8Prefix(whole, cut);

  // The prefix: no longer than asked, a prefix, and maximal.
  if (prefix.size() > cut || whole.substr(0, prefix.size()) != prefix) {
    __builtin_trap();
  }
  if (prefix.size() < whole.size() &&
      prefix.size() +
              loan_gateway::NextUtf8Unit(whole.substr(prefix.size())).size <=
          cut) {
    __builtin_trap();
  }
  if (ValidUtf8(whole) && !ValidUtf8(prefix)) __builtin_trap();

  std::ostringstream& out = Captured();
  out.str("");
  loan_gateway::LogLine("info", event)
      .Str("whole", whole)
      .Str("prefix", prefix)
      .Str(key, value)
      .Emit();
  const std::string line = out.str();

  // Exactly one line, ending with one newline, no raw control byte.
  if (line.empty() || line.back() != '\n' ||
      line.find('\n') != line.size() - 1) {
    __builtin_trap();
  }
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    if (static_cast<unsigned char>(line[i]) < 0x20) __builtin_trap();
  }
  if (!ValidUtf8(line)) __builtin_trap();

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc) != simdjson::SUCCESS) __builtin_trap();
  std::string_view read_back;  // simdjson's type; absl's may differ.
  if (doc["whole"].get(read_back) != simdjson::SUCCESS) __builtin_trap();
  if (ValidUtf8(whole) ? read_back != std::string_view(whole.data(), size)
                       : !ValidUtf8({read_back.data(), read_back.size()})) {
    __builtin_trap();
  }
  return 0;
}
